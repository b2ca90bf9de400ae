using System.Data.Common;
using Bilevel.Contracts;
using Bilevel.Grid.Internal;
using Polly;

namespace Bilevel.Grid;

/// <summary>
/// The behaviour both stores share, written once over ADO.NET: the statements of <see cref="GridSql"/>, the
/// fencing, the state machines and the queries. A subclass supplies connections, its write transaction, its claim
/// statement, reaper election, bulk trial insertion and how idle workers are woken. Only this assembly derives.
/// </summary>
public abstract partial class RelationalGridStore : IGridStore
{
    private protected RelationalGridStore(SqlDialect dialect, GridStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Dialect = dialect;
        Sql = new GridSql(dialect);
        Rows = new Rows(dialect);
        Options = options;
    }

    private protected SqlDialect Dialect { get; }

    private protected GridSql Sql { get; }

    private protected Rows Rows { get; }

    private protected GridStoreOptions Options { get; }

    /// <summary>Retries a whole transaction on the dialect's transient conflicts (and only those).</summary>
    private protected abstract ResiliencePipeline Retry { get; }

    /// <summary>
    /// Claims one trial: sets it running under @owner for @lease_ms with attempt + 1 and returns its
    /// <see cref="GridSql.TrialColumns"/>, choosing among queued trials of active sweeps with device @device_kind and
    /// at most @free_slots slots, by priority then age.
    /// </summary>
    private protected abstract string ClaimSql { get; }

    private protected abstract ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>Begins the write transaction; <paramref name="connection"/> is open.</summary>
    private protected abstract ValueTask<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>Waits for this process's turn to write, where the database prefers writers queued in process.</summary>
    private protected virtual ValueTask<IDisposable?> EnterWriteAsync(CancellationToken cancellationToken) => ValueTask.FromResult<IDisposable?>(null);

    /// <summary>True when this transaction is the one reaper allowed now.</summary>
    private protected abstract Task<bool> TryElectReaperAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken);

    private protected abstract Task InsertTrialsAsync(
        DbConnection connection, DbTransaction transaction, long sweepId, SweepSpec spec, IReadOnlyList<TrialPlan> plans, CancellationToken cancellationToken);

    /// <summary>Announces inside the transaction that trials became claimable (delivered on commit where supported).</summary>
    private protected abstract Task AnnounceWorkAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken);

    /// <summary>Called after a transaction that announced work committed.</summary>
    private protected virtual void WorkCommitted()
    {
    }

    public abstract Task MigrateAsync(CancellationToken cancellationToken);

    public abstract Task<IWorkSignal> ListenForWorkAsync(CancellationToken cancellationToken);

    public abstract ValueTask DisposeAsync();

    /// <summary>Runs <paramref name="work"/> in a write transaction, committed when it returns, retried whole on conflicts.</summary>
    private protected Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, CancellationToken, Task<T>> work, CancellationToken cancellationToken) =>
        Retry.ExecuteAsync(async token =>
        {
            using var turn = await EnterWriteAsync(token).ConfigureAwait(false);
            await using var connection = await OpenAsync(token).ConfigureAwait(false);
            await using var transaction = await BeginWriteAsync(connection, token).ConfigureAwait(false);
            var result = await work(connection, transaction, token).ConfigureAwait(false);
            await transaction.CommitAsync(token).ConfigureAwait(false);
            return result;
        }, cancellationToken).AsTask();

    private protected Task<T> ReadAsync<T>(Func<DbConnection, CancellationToken, Task<T>> work, CancellationToken cancellationToken) =>
        Retry.ExecuteAsync(async token =>
        {
            await using var connection = await OpenAsync(token).ConfigureAwait(false);
            return await work(connection, token).ConfigureAwait(false);
        }, cancellationToken).AsTask();

    /// <summary>Sets @sweep_id completed when none of its trials is unfinished; the caller holds the sweep's row lock.</summary>
    private Task CompleteSweepIfDoneAsync(DbConnection connection, DbTransaction transaction, long sweepId, CancellationToken cancellationToken) =>
        connection.Command(transaction, Sql.CompleteSweepIfDone).With("@sweep_id", sweepId).ExecuteAsync(cancellationToken);
}
