namespace Bilevel.Silo.Worker;

internal sealed partial class GridReaper
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Reaper requeued {RequeuedCount} trial(s) with expired leases [{Requeued}] and failed {FailedCount} out of attempts [{Failed}]")]
    private static partial void LogReaped(ILogger logger, int requeuedCount, string requeued, int failedCount, string failed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reaper pass failed; trying again at the next interval")]
    private static partial void LogPassFailed(ILogger logger, Exception exception);
}
