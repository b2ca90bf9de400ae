using Microsoft.Data.Sqlite;

namespace Bilevel.Grid.Tests.Stores;

/// <summary>The store contract on SQLite: one database file per test in a directory removed afterwards.</summary>
public sealed class SqliteGridStoreTests : GridStoreContract, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("bilevel-sqlite-").FullName;

    protected override IGridStore Open(string database) =>
        new SqliteGridStore(new SqliteGridStoreOptions { DatabasePath = PathOf(database) });

    protected override async Task InstallFailingMetricTriggerAsync(string database)
    {
        await using var connection = new SqliteConnection($"Data Source={PathOf(database)}");
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText =
            "CREATE TRIGGER explode BEFORE INSERT ON metrics WHEN NEW.name = 'explode' " +
            "BEGIN SELECT RAISE(ABORT, 'metric explode refused by the test trigger'); END";
        await command.ExecuteNonQueryAsync(Ct);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    private string PathOf(string database) => Path.Combine(_directory, database + ".db");
}
