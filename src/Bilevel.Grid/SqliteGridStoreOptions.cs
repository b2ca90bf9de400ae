namespace Bilevel.Grid;

/// <summary>Where the SQLite store keeps its database.</summary>
public sealed class SqliteGridStoreOptions
{
    /// <summary>The database file, created when missing (with a -wal and a -shm file beside it).</summary>
    public required string DatabasePath { get; init; }

    /// <summary>
    /// How long one write waits for another process's write to finish before it fails. Writers of one process queue
    /// in process and do not use this. Default 30 seconds.
    /// </summary>
    public TimeSpan BusyTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Settings shared by both stores. Default: a new <see cref="GridStoreOptions"/>.</summary>
    public GridStoreOptions Grid { get; init; } = new();
}
