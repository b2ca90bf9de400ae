namespace Bilevel.Silo.Worker;

internal sealed partial class GridWorker
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Worker {WorkerId} claiming with {Slots} slot(s), {Threads} thread(s) per trial, lease {Lease}")]
    private static partial void LogStarted(ILogger logger, string workerId, string slots, int threads, TimeSpan lease);

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker {WorkerId} stopped; running trials were checkpointed and released")]
    private static partial void LogStopped(ILogger logger, string workerId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Store unreachable (attempt {Attempt}); retrying in {Delay}")]
    private static partial void LogStoreUnreachable(ILogger logger, Exception exception, int attempt, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Error, Message = "Worker heartbeat failed")]
    private static partial void LogHeartbeatFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not remove worker {WorkerId}; the reaper forgets it after a day of silence")]
    private static partial void LogRemoveFailed(ILogger logger, Exception exception, string workerId);
}
