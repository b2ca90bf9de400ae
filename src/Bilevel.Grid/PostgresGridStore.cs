using System.Data;
using System.Data.Common;
using System.Text.RegularExpressions;
using Bilevel.Contracts;
using Bilevel.Grid.Internal;
using Microsoft.Extensions.Logging;
using Npgsql;
using Polly;
using Polly.Retry;

namespace Bilevel.Grid;

/// <summary>
/// The grid on PostgreSQL, for many workers on many machines. Claims take the first fitting queued trial with
/// <c>FOR UPDATE SKIP LOCKED</c>, so concurrent claimers never wait on or double-claim a row; leases and heartbeats
/// use the server's <c>now()</c>; LISTEN/NOTIFY wakes idle workers; the reaper is elected per pass with a
/// transaction-scoped advisory lock. Read-committed transactions, retried on SQLSTATE 40001 and 40P01 only.
/// </summary>
public sealed partial class PostgresGridStore : RelationalGridStore
{
    private const string ClaimStatement =
        "WITH candidate AS (" +
        " SELECT t.id AS claim_id FROM trials t JOIN sweeps s ON s.id = t.sweep_id" +
        " WHERE t.state = 'queued' AND s.state = 'active' AND t.device_kind = @device_kind AND t.slots <= @free_slots" +
        " ORDER BY t.priority DESC, t.id LIMIT 1 FOR UPDATE OF t SKIP LOCKED) " +
        "UPDATE trials SET state = 'running', attempt = attempt + 1, lease_owner = @owner, lease_ms = @lease_ms," +
        " lease_expires_at = now() + @lease_ms * interval '1 millisecond', heartbeat_at = now()," +
        " started_at = COALESCE(started_at, now()) " +
        "FROM candidate WHERE id = candidate.claim_id RETURNING " + GridSql.TrialColumns;

    private const string InsertTrialsStatement =
        "INSERT INTO trials (sweep_id, number, params, seed, state, max_attempts, priority, device_kind, slots, created_at) " +
        "SELECT @sweep_id, n, CAST(p AS jsonb), s, 'queued', @max_attempts, @priority, @device_kind, @slots, now() " +
        "FROM unnest(@numbers, @params, @seeds) AS x(n, p, s)";

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _schema;
    private readonly string _channel;
    private readonly long _reaperLockKey;
    private readonly long _migrationLockKey;
    private readonly WorkSignalHub _hub;
    private readonly ILogger _logger;
    private readonly Lock _listenerGate = new();
    private PostgresWorkListener? _listener;

    public PostgresGridStore(PostgresGridStoreOptions options)
        : base(PostgresDialect.Instance, (options ?? throw new ArgumentNullException(nameof(options))).Grid)
    {
        ArgumentException.ThrowIfNullOrEmpty(options.ConnectionString);
        if (!SchemaName().IsMatch(options.Schema))
            throw new ArgumentException($"Schema '{options.Schema}' is not a lower-case identifier of at most 40 characters.", nameof(options));
        _schema = options.Schema;
        _channel = $"{_schema}_work";
        _reaperLockKey = (long)SplitMix64.Hash($"bilevel reaper {_schema}");
        _migrationLockKey = (long)SplitMix64.Hash($"bilevel migration {_schema}");
        var connection = new NpgsqlConnectionStringBuilder(options.ConnectionString) { SearchPath = _schema };
        _dataSource = NpgsqlDataSource.Create(connection.ConnectionString);
        _hub = new WorkSignalHub();
        _logger = options.Grid.LoggerFactory.CreateLogger<PostgresGridStore>();
        Retry = new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<PostgresException>(e =>
                e.SqlState is PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected),
            MaxRetryAttempts = Math.Max(1, options.Grid.MaxTransientRetries),
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromMilliseconds(10),
        }).Build();
    }

    private protected override ResiliencePipeline Retry { get; }

    /// <summary>The advisory lock a reaper pass must win; tests hold it to see election fail.</summary>
    internal long ReaperLockKey => _reaperLockKey;

    private protected override string ClaimSql => ClaimStatement;

    public override async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        // One migrator at a time per schema; the others wait here and then find nothing left to do.
        await connection.Command(transaction, "SELECT pg_advisory_xact_lock(@key)").With("@key", _migrationLockKey)
            .ExecuteAsync(cancellationToken).ConfigureAwait(false);
        await connection.Command(transaction, $"CREATE SCHEMA IF NOT EXISTS \"{_schema}\"").ExecuteAsync(cancellationToken).ConfigureAwait(false);
        await Migrator.ApplyAsync(connection, transaction, Dialect, Migration.Load("PostgreSql"), cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public override async Task<IWorkSignal> ListenForWorkAsync(CancellationToken cancellationToken)
    {
        PostgresWorkListener listener;
        lock (_listenerGate)
            listener = _listener ??= new PostgresWorkListener(_dataSource, _channel, _hub, Options.TimeProvider, _logger);
        // Subscribing after the first LISTEN keeps the wake-up every connection gives its subscribers from
        // reaching one that has not missed anything.
        await listener.Listening.WaitAsync(cancellationToken).ConfigureAwait(false);
        return _hub.Subscribe(Options.TimeProvider);
    }

    public override async ValueTask DisposeAsync()
    {
        PostgresWorkListener? listener;
        lock (_listenerGate)
        {
            listener = _listener;
            _listener = null;
        }
        if (listener is not null)
            await listener.DisposeAsync().ConfigureAwait(false);
        await _dataSource.DisposeAsync().ConfigureAwait(false);
    }

    private protected override async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    private protected override async ValueTask<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken).ConfigureAwait(false);

    private protected override async Task<bool> TryElectReaperAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        // Transaction-scoped: released at commit or rollback, so a pooled connection can never keep it.
        await connection.Command(transaction, "SELECT pg_try_advisory_xact_lock(@key)").With("@key", _reaperLockKey)
            .ScalarAsync<bool>(cancellationToken).ConfigureAwait(false);

    private protected override Task InsertTrialsAsync(
        DbConnection connection, DbTransaction transaction, long sweepId, SweepSpec spec, IReadOnlyList<TrialPlan> plans, CancellationToken cancellationToken) =>
        // One statement for the whole sweep: arrays travel as three parameters.
        connection.Command(transaction, InsertTrialsStatement)
            .With("@sweep_id", sweepId)
            .With("@max_attempts", spec.MaxAttempts)
            .With("@priority", spec.Priority)
            .With("@device_kind", StateNames.Of(spec.Device.Kind))
            .With("@slots", spec.Device.Slots)
            .With("@numbers", plans.Select(p => p.Number).ToArray())
            .With("@params", plans.Select(p => p.ParamsJson).ToArray())
            .With("@seeds", plans.Select(p => p.Seed).ToArray())
            .ExecuteAsync(cancellationToken);

    private protected override Task AnnounceWorkAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        // Delivered when the transaction commits, and not at all if it rolls back.
        connection.Command(transaction, "SELECT pg_notify(@channel, '')").With("@channel", _channel).ExecuteAsync(cancellationToken);

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,39}$", RegexOptions.CultureInvariant)]
    private static partial Regex SchemaName();
}
