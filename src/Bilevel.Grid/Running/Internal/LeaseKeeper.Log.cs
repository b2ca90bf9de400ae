using Microsoft.Extensions.Logging;

namespace Bilevel.Grid.Running.Internal;

internal sealed partial class LeaseKeeper
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Trial {TrialId}: heartbeat found the lease of attempt {Attempt} lost; stopping without further writes")]
    private static partial void LogLeaseLost(ILogger logger, long trialId, int attempt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Trial {TrialId}: its sweep was paused; checkpointing and yielding")]
    private static partial void LogSweepPaused(ILogger logger, long trialId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Trial {TrialId}: heartbeat failed")]
    private static partial void LogHeartbeatFailed(ILogger logger, Exception exception, long trialId);
}
