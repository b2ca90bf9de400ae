namespace Bilevel.Silo.Hosting;

internal sealed partial class GridStoreMigrator
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot migrate the grid store yet (attempt {Attempt}); retrying in {Delay}")]
    private static partial void LogDatabaseUnreachable(ILogger logger, Exception exception, int attempt, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Information, Message = "Grid store ready ({Store})")]
    private static partial void LogMigrated(ILogger logger, string store);
}
