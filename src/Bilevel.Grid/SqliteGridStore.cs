using System.Collections.Concurrent;
using System.Data.Common;
using Bilevel.Contracts;
using Bilevel.Grid.Internal;
using Microsoft.Data.Sqlite;
using Polly;
using Polly.Retry;

namespace Bilevel.Grid;

/// <summary>
/// The grid in one SQLite file: the zero-setup default for a single machine, with the same schema and behaviour as
/// <see cref="PostgresGridStore"/>. Every write runs in a BEGIN IMMEDIATE transaction, which holds the database's
/// one write lock, so a claim reads and takes its trial atomically; writers of one process queue in process first.
/// Leases use SQLite's clock. WAL mode lets readers run beside the writer. Work signals reach the store instances of
/// this process; workers in other processes on the same file find work by polling.
/// </summary>
public sealed class SqliteGridStore : RelationalGridStore
{
    private const string ClaimStatement =
        "UPDATE trials SET state = 'running', attempt = attempt + 1, lease_owner = @owner, lease_ms = @lease_ms," +
        " lease_expires_at = CAST(unixepoch('subsec') * 1000 AS INTEGER) + @lease_ms," +
        " heartbeat_at = CAST(unixepoch('subsec') * 1000 AS INTEGER)," +
        " started_at = COALESCE(started_at, CAST(unixepoch('subsec') * 1000 AS INTEGER)) " +
        "WHERE id = (SELECT t.id FROM trials t JOIN sweeps s ON s.id = t.sweep_id" +
        " WHERE t.state = 'queued' AND s.state = 'active' AND t.device_kind = @device_kind AND t.slots <= @free_slots" +
        " ORDER BY t.priority DESC, t.id LIMIT 1) " +
        "RETURNING " + GridSql.TrialColumns;

    // Per database file, shared by every store instance of the process on that file.
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> WriteTurns = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, WorkSignalHub> Hubs = new(StringComparer.Ordinal);

    private readonly string _connectionString;
    private readonly SemaphoreSlim _writeTurn;
    private readonly WorkSignalHub _hub;

    public SqliteGridStore(SqliteGridStoreOptions options)
        : base(SqliteDialect.Instance, (options ?? throw new ArgumentNullException(nameof(options))).Grid)
    {
        ArgumentException.ThrowIfNullOrEmpty(options.DatabasePath);
        var path = Path.GetFullPath(options.DatabasePath);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            ForeignKeys = true,
            DefaultTimeout = (int)Math.Ceiling(options.BusyTimeout.TotalSeconds),
        }.ToString();
        _writeTurn = WriteTurns.GetOrAdd(path, _ => new SemaphoreSlim(1, 1));
        _hub = Hubs.GetOrAdd(path, _ => new WorkSignalHub());
        Retry = new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            // SQLITE_BUSY and SQLITE_LOCKED: another process held the lock past the busy timeout.
            ShouldHandle = new PredicateBuilder().Handle<SqliteException>(e => e.SqliteErrorCode is 5 or 6),
            MaxRetryAttempts = Math.Max(1, options.Grid.MaxTransientRetries),
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromMilliseconds(10),
        }).Build();
    }

    private protected override ResiliencePipeline Retry { get; }

    private protected override string ClaimSql => ClaimStatement;

    public override async Task MigrateAsync(CancellationToken cancellationToken)
    {
        using var turn = await EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        // WAL is a property of the file and cannot change inside a transaction.
        await connection.Command(null, "PRAGMA journal_mode = WAL").ExecuteAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        await Migrator.ApplyAsync(connection, transaction, Dialect, Migration.Load("Sqlite"), cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public override Task<IWorkSignal> ListenForWorkAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IWorkSignal>(_hub.Subscribe(Options.TimeProvider));

    public override ValueTask DisposeAsync()
    {
        // Pooled handles keep the file open; a caller that disposes the store may want to delete or move it.
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
        return ValueTask.CompletedTask;
    }

    private protected override async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            // Durable at every checkpoint of WAL, and far fewer fsyncs than FULL.
            await connection.Command(null, "PRAGMA synchronous = NORMAL").ExecuteAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private protected override ValueTask<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        // deferred: false is BEGIN IMMEDIATE: the write lock is taken before the first read, not upgraded later.
        ValueTask.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: false));

    private protected override async ValueTask<IDisposable?> EnterWriteAsync(CancellationToken cancellationToken)
    {
        await _writeTurn.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Turn(_writeTurn);
    }

    private protected override Task<bool> TryElectReaperAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        // The write lock of BEGIN IMMEDIATE already makes this transaction the only reaper.
        Task.FromResult(true);

    private protected override async Task InsertTrialsAsync(
        DbConnection connection, DbTransaction transaction, long sweepId, SweepSpec spec, IReadOnlyList<TrialPlan> plans, CancellationToken cancellationToken)
    {
        // In-process SQLite: one prepared statement per row costs microseconds.
        await using var command = connection.Command(transaction, Sql.InsertTrialValues)
            .With("@sweep_id", sweepId)
            .With("@max_attempts", spec.MaxAttempts)
            .With("@priority", spec.Priority)
            .With("@device_kind", StateNames.Of(spec.Device.Kind))
            .With("@slots", spec.Device.Slots);
        var number = command.Parameter("@number");
        var parameters = command.Parameter("@params");
        var seed = command.Parameter("@seed");
        foreach (var plan in plans)
        {
            number.Value = plan.Number;
            parameters.Value = plan.ParamsJson;
            seed.Value = plan.Seed;
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private protected override Task AnnounceWorkAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        Task.CompletedTask;

    private protected override void WorkCommitted() => _hub.SignalAll();

    private sealed class Turn(SemaphoreSlim turn) : IDisposable
    {
        public void Dispose() => turn.Release();
    }
}
