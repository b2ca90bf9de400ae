using Bilevel.Contracts;
using Bilevel.Grid;

namespace Bilevel.Silo.Tests.Infrastructure;

/// <summary>A migrated SQLite grid store in a temporary directory, deleted at the end.</summary>
internal sealed class SqliteGrid : IAsyncDisposable
{
    private readonly string _directory;

    private SqliteGrid(string directory, IGridStore store)
    {
        _directory = directory;
        Store = store;
    }

    public IGridStore Store { get; }

    public static async Task<SqliteGrid> CreateAsync(CancellationToken cancellationToken)
    {
        var directory = Directory.CreateTempSubdirectory("bilevel-silo-tests-").FullName;
        var store = new SqliteGridStore(new SqliteGridStoreOptions { DatabasePath = Path.Combine(directory, "grid.db") });
        await store.MigrateAsync(cancellationToken);
        return new SqliteGrid(directory, store);
    }

    public async Task<ClaimedTrial> ClaimAsync(string worker, TimeSpan lease, CancellationToken cancellationToken) =>
        await Store.ClaimAsync(new ClaimRequest(worker, DeviceKind.Cpu, 1, lease), cancellationToken)
        ?? throw new InvalidOperationException($"{worker} found no trial to claim.");

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
