namespace Bilevel.Grid;

/// <summary>Where the PostgreSQL store keeps its tables.</summary>
public sealed class PostgresGridStoreOptions
{
    /// <summary>An Npgsql connection string (its search path is replaced by <see cref="Schema"/>).</summary>
    public required string ConnectionString { get; init; }

    /// <summary>
    /// The schema holding the grid's tables, created by migration: lower-case letters, digits and '_', starting with
    /// a letter or '_', at most 40 characters. Its name also keys the work channel and the reaper's lock, so grids in
    /// different schemas of one database stay apart. Default <c>bilevel</c>.
    /// </summary>
    public string Schema { get; init; } = "bilevel";

    /// <summary>Settings shared by both stores. Default: a new <see cref="GridStoreOptions"/>.</summary>
    public GridStoreOptions Grid { get; init; } = new();
}
