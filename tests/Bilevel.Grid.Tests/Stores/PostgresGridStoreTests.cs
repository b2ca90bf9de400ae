using Bilevel.Grid.Tests.Infrastructure;
using Npgsql;

namespace Bilevel.Grid.Tests.Stores;

/// <summary>The store contract on the run's PostgreSQL server: one schema per test.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresGridStoreTests(PostgresServer server) : GridStoreContract
{
    protected override IGridStore Open(string database) =>
        new PostgresGridStore(new PostgresGridStoreOptions { ConnectionString = server.ConnectionString, Schema = database });

    protected override async Task InstallFailingMetricTriggerAsync(string database)
    {
        await using var connection = new NpgsqlConnection(server.ConnectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(
            $"CREATE FUNCTION {database}.explode() RETURNS trigger LANGUAGE plpgsql AS " +
            "$$ BEGIN RAISE EXCEPTION 'metric explode refused by the test trigger'; END $$; " +
            $"CREATE TRIGGER explode BEFORE INSERT ON {database}.metrics FOR EACH ROW " +
            $"WHEN (NEW.name = 'explode') EXECUTE FUNCTION {database}.explode()", connection);
        await command.ExecuteNonQueryAsync(Ct);
    }

    [Fact]
    public async Task Only_one_reaper_runs_at_a_time()
    {
        var (store, database) = await NewStoreAsync();
        var key = ((PostgresGridStore)store).ReaperLockKey;
        await using var rival = new NpgsqlConnection(server.ConnectionString);
        await rival.OpenAsync(Ct);
        await using (var transaction = await rival.BeginTransactionAsync(Ct))
        {
            await using var hold = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@key)", rival, transaction);
            hold.Parameters.AddWithValue("key", key);
            await hold.ExecuteNonQueryAsync(Ct);

            Assert.False((await store.ReapExpiredLeasesAsync(Ct)).Elected);
            Assert.False((await Peer(database).ReapExpiredLeasesAsync(Ct)).Elected);
        }
        Assert.True((await store.ReapExpiredLeasesAsync(Ct)).Elected);
    }
}
