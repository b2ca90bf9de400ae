using Bilevel.Contracts;
using Bilevel.Grid.Tests.Infrastructure;

namespace Bilevel.Grid.Tests.Stores;

/// <summary>
/// The one behaviour every <see cref="IGridStore"/> must have, run against each store on a real database. Every
/// test gets a database of its own (a schema on PostgreSQL, a file on SQLite), so queue-wide assertions hold.
/// </summary>
public abstract partial class GridStoreContract : IAsyncLifetime
{
    protected static readonly TimeSpan ShortLease = TimeSpan.FromSeconds(1);
    protected static readonly TimeSpan LongLease = TimeSpan.FromMinutes(5);

    private static int _databases;
    private readonly List<IGridStore> _stores = [];
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));

    /// <summary>Fails a hung test instead of hanging the run.</summary>
    protected CancellationToken Ct => _timeout.Token;

    /// <summary>A store on <paramref name="database"/>; the same name gives another instance on the same data.</summary>
    protected abstract IGridStore Open(string database);

    /// <summary>Makes the database refuse, inside the writing transaction, any metric named "explode".</summary>
    protected abstract Task InstallFailingMetricTriggerAsync(string database);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _stores)
            await store.DisposeAsync();
        _timeout.Dispose();
    }

    protected async Task<(IGridStore Store, string Database)> NewStoreAsync()
    {
        var database = $"grid_{Interlocked.Increment(ref _databases)}_{Guid.NewGuid():N}"[..24];
        var store = Peer(database);
        await store.MigrateAsync(Ct);
        return (store, database);
    }

    protected IGridStore Peer(string database)
    {
        var store = Open(database);
        _stores.Add(store);
        return store;
    }

    protected Task<ClaimedTrial?> ClaimAsync(IGridStore store, string worker, TimeSpan lease, DeviceKind kind = DeviceKind.Cpu, int slots = 1) =>
        store.ClaimAsync(new ClaimRequest(worker, kind, slots, lease), Ct);

    protected async Task<ClaimedTrial> ClaimOneAsync(IGridStore store, string worker, TimeSpan lease) =>
        await ClaimAsync(store, worker, lease) ?? throw new InvalidOperationException($"{worker} found no trial to claim.");

    protected async Task<TrialRecord> TrialAsync(IGridStore store, long id) =>
        await store.GetTrialAsync(id, Ct) ?? throw new InvalidOperationException($"Trial {id} is missing.");

    protected async Task<SweepRecord> SweepAsync(IGridStore store, long id) =>
        await store.GetSweepAsync(id, Ct) ?? throw new InvalidOperationException($"Sweep {id} is missing.");

    /// <summary>Runs the reaper until it requeues or fails <paramref name="trialId"/>, as the database's clock decides.</summary>
    protected Task<ReapReport> ReapUntilAsync(IGridStore store, long trialId, bool failed, string expectation) =>
        Eventually.ReturnsAsync(
            () => store.ReapExpiredLeasesAsync(Ct),
            r => (failed ? r.Failed : r.Requeued).Contains(trialId),
            expectation);

    protected static TrialCompletion Done(int step, params MetricSample[] metrics) =>
        new(step, TestSpecs.Json("""{"outerLoss": 0.25}"""), metrics);
}
