using Bilevel.Contracts;
using Bilevel.Grid;
using Bilevel.Grid.Running;

namespace Bilevel.Silo.Tests.Infrastructure;

/// <summary>
/// A grid in a fresh schema of the run's PostgreSQL with audit triggers, the silo worker processes started on it,
/// and waits that report what every worker printed when they time out.
/// </summary>
internal sealed class ProcessGrid : IAsyncDisposable
{
    private static int _schemas;
    private readonly string _connectionString;
    private readonly List<SiloProcess> _workers = [];

    private ProcessGrid(string connectionString, string schema, IGridStore store)
    {
        _connectionString = connectionString;
        Schema = schema;
        Store = store;
    }

    public string Schema { get; }

    public IGridStore Store { get; }

    public IReadOnlyList<SiloProcess> Workers => _workers;

    public static async Task<ProcessGrid> CreateAsync(string connectionString, CancellationToken cancellationToken)
    {
        var schema = $"silo_{Interlocked.Increment(ref _schemas)}_{Guid.NewGuid():N}"[..24];
        var store = new PostgresGridStore(new PostgresGridStoreOptions { ConnectionString = connectionString, Schema = schema });
        await store.MigrateAsync(cancellationToken);
        await PostgresAdmin.InstallAuditAsync(connectionString, schema, cancellationToken);
        return new ProcessGrid(connectionString, schema, store);
    }

    /// <summary>Starts a worker-only silo with one CPU slot and one thread per trial on this grid.</summary>
    public SiloProcess StartWorker(string name, TimeSpan lease, IReadOnlyDictionary<string, string>? extra = null)
    {
        var settings = new Dictionary<string, string>
        {
            ["Silo:Roles"] = "worker",
            ["Silo:Store:Postgres"] = _connectionString,
            ["Silo:Store:Schema"] = Schema,
            // A worker frozen mid-transaction (SIGSTOP) loses its session after this, not after the default 10 s.
            ["Silo:Store:IdleTransactionTimeout"] = "00:00:02",
            ["Silo:Reaper:Interval"] = "00:00:00.250",
            ["Worker:WorkerId"] = name,
            ["Worker:CpuSlots"] = "1",
            ["Worker:ThreadsPerTrial"] = "1",
            ["Worker:LeaseDuration"] = lease.ToString("c", System.Globalization.CultureInfo.InvariantCulture),
            ["Worker:PollInterval"] = "00:00:01",
            ["Worker:ReconnectFirstDelay"] = "00:00:00.050",
            ["Worker:ReconnectMaxDelay"] = "00:00:01",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
            settings[key] = value;
        var worker = SiloProcess.Start(name, settings);
        _workers.Add(worker);
        return worker;
    }

    public Task<List<(long TrialId, int Attempt, string? Owner)>> ClaimsAsync(CancellationToken cancellationToken) =>
        PostgresAdmin.AuditAsync(_connectionString, Schema, "audit_claims", cancellationToken);

    public Task<List<(long TrialId, int Attempt, string? Owner)>> CompletionsAsync(CancellationToken cancellationToken) =>
        PostgresAdmin.AuditAsync(_connectionString, Schema, "audit_completions", cancellationToken);

    public async Task<List<TrialRecord>> TrialsAsync(long sweepId, CancellationToken cancellationToken)
    {
        var trials = new List<TrialRecord>();
        string? cursor = null;
        do
        {
            var page = await Store.ListTrialsAsync(new TrialListRequest { SweepId = sweepId, PageSize = PagingLimits.MaxPageSize, Cursor = cursor }, cancellationToken);
            trials.AddRange(page.Items);
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        return trials;
    }

    public async Task<TrialCheckpoint?> CheckpointAsync(long trialId, CancellationToken cancellationToken) =>
        await Store.GetCheckpointAsync(trialId, cancellationToken) is { } record ? TrialCheckpoint.Parse(record.Payload) : null;

    /// <summary>
    /// Polls the store every 25 ms until <paramref name="condition"/> holds; on timeout, fails with the expectation and
    /// the workers' output. A probe that meets an unreachable database (a restart) counts as "not yet".
    /// </summary>
    public async Task<T> WaitAsync<T>(Func<Task<T>> probe, Func<T, bool> condition, string expectation, TimeSpan timeout)
    {
        async Task<(bool Read, T Value)> Probe()
        {
            try
            {
                return (true, await probe());
            }
            catch (Exception e) when (GridResilience.IsTransient(e))
            {
                return (false, default!);
            }
        }

        try
        {
            return (await Eventually.ReturnsAsync(Probe, r => r.Read && condition(r.Value), expectation, timeout)).Value;
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\n{string.Join('\n', _workers.Select(w => w.Tail()))}", e);
        }
    }

    /// <summary>A read of the test's own store, retried while the database is unreachable (its pooled connections die in a restart).</summary>
    public async Task<T> ReadAsync<T>(Func<CancellationToken, Task<T>> read, CancellationToken cancellationToken) =>
        await Reconnect.ExecuteAsync(async ct => await read(ct), cancellationToken);

    private static readonly Polly.ResiliencePipeline Reconnect =
        GridResilience.CreateReconnectPipeline(TimeSpan.FromMilliseconds(25), TimeSpan.FromMilliseconds(50), TimeProvider.System);

    public async ValueTask DisposeAsync()
    {
        foreach (var worker in _workers)
            await worker.DisposeAsync();
        await Store.DisposeAsync();
    }
}
