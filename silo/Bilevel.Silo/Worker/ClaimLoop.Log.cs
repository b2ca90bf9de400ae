using Bilevel.Contracts;
using Bilevel.Grid.Running;

namespace Bilevel.Silo.Worker;

internal sealed partial class ClaimLoop
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Claimed trial {TrialId} (sweep {SweepId} #{Number}) attempt {Attempt} on {Kind} slot {Slot}; checkpoint at step {CheckpointStep}")]
    private static partial void LogClaimed(ILogger logger, long trialId, long sweepId, int number, int attempt, DeviceKind kind, int slot, int? checkpointStep);

    [LoggerMessage(Level = LogLevel.Information, Message = "Trial {TrialId}: {Outcome} after {OuterStep} outer steps")]
    private static partial void LogFinished(ILogger logger, long trialId, TrialRunOutcome outcome, int outerStep);

    [LoggerMessage(Level = LogLevel.Error, Message = "Trial {TrialId}: worker error; failing the attempt as retryable")]
    private static partial void LogTrialError(ILogger logger, Exception exception, long trialId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Trial {TrialId}: could not record the worker error; its lease will expire and the reaper requeue it")]
    private static partial void LogFailWriteFailed(ILogger logger, Exception exception, long trialId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Trial {TrialId}: released unstarted, the worker is stopping")]
    private static partial void LogReleasedBeforeRun(ILogger logger, long trialId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Trial {TrialId}: could not release it on shutdown; its lease will expire and the reaper requeue it")]
    private static partial void LogReleaseFailed(ILogger logger, Exception exception, long trialId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Claim loop of {Kind} slot {Slot} failed; going on in a second")]
    private static partial void LogLoopError(ILogger logger, Exception exception, DeviceKind kind, int slot);
}
