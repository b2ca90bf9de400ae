using Bilevel.Contracts;

namespace Bilevel.Grid;

/// <summary>
/// The grid's persistent state: sweeps, trials, checkpoints, metrics and workers, with one behaviour in every
/// implementation (<see cref="PostgresGridStore"/> for shared, multi-machine use; <see cref="SqliteGridStore"/> for
/// one machine). The API submits and queries through it; workers claim trials and write them back under leases.
/// </summary>
/// <remarks>
/// Every write of a running trial is fenced by its <see cref="TrialLease"/> (trial, attempt, owner) and refused with
/// <see cref="LeaseWriteResult.LeaseLost"/> once the lease expired by the database's clock or a later attempt took
/// the trial: a stale worker can never overwrite the new owner's work. Transactions that meet a serialization
/// failure or a deadlock are retried; other database errors propagate.
/// </remarks>
public interface IGridStore : IAsyncDisposable
{
    /// <summary>Creates or upgrades the schema; safe to call from many hosts at once.</summary>
    Task MigrateAsync(CancellationToken cancellationToken);

    /// <summary>Stores a validated spec and its expanded trials (all queued) in one transaction, and wakes idle workers.</summary>
    Task<SweepRecord> CreateSweepAsync(SweepSpec spec, CancellationToken cancellationToken);

    Task<SweepRecord?> GetSweepAsync(long sweepId, CancellationToken cancellationToken);

    /// <summary>Sweeps newest first. Throws <see cref="ArgumentException"/> for an invalid request.</summary>
    Task<PageView<SweepRecord>> ListSweepsAsync(SweepListRequest request, CancellationToken cancellationToken);

    /// <summary>Stops claims of the sweep's trials; running ones see <see cref="HeartbeatResult.SweepPaused"/>.</summary>
    Task<SweepTransitionResult> PauseSweepAsync(long sweepId, CancellationToken cancellationToken);

    Task<SweepTransitionResult> ResumeSweepAsync(long sweepId, CancellationToken cancellationToken);

    /// <summary>Cancels the sweep and its unfinished trials; running ones lose their leases.</summary>
    Task<SweepTransitionResult> CancelSweepAsync(long sweepId, CancellationToken cancellationToken);

    Task<TrialRecord?> GetTrialAsync(long trialId, CancellationToken cancellationToken);

    /// <summary>Filtered, sorted, paged trials. Throws <see cref="ArgumentException"/> for an invalid request or cursor.</summary>
    Task<PageView<TrialRecord>> ListTrialsAsync(TrialListRequest request, CancellationToken cancellationToken);

    /// <summary>A trial's metric values ordered by name and step. Throws <see cref="ArgumentException"/> for an invalid request.</summary>
    Task<IReadOnlyList<MetricSample>> GetMetricsAsync(MetricsRequest request, CancellationToken cancellationToken);

    /// <summary>The completed trial whose last value of <paramref name="metric"/> is best; null when none has it.</summary>
    Task<BestTrial?> GetBestTrialAsync(long sweepId, string metric, MetricGoal goal, CancellationToken cancellationToken);

    Task<CheckpointRecord?> GetCheckpointAsync(long trialId, CancellationToken cancellationToken);

    /// <summary>
    /// Claims the queued trial of an active sweep that fits the worker's device kind and free slots, highest
    /// priority first and oldest first among equals, raising its attempt; null when there is none.
    /// </summary>
    Task<ClaimedTrial?> ClaimAsync(ClaimRequest request, CancellationToken cancellationToken);

    /// <summary>Extends the lease by its duration from the database's now.</summary>
    Task<HeartbeatResult> HeartbeatAsync(TrialLease lease, CancellationToken cancellationToken);

    /// <summary>Writes the outer step, the checkpoint and the metrics in one transaction, extending the lease.</summary>
    Task<LeaseWriteResult> SaveProgressAsync(TrialLease lease, TrialProgress progress, CancellationToken cancellationToken);

    /// <summary>Records the move to phase II at <paramref name="outerStep"/> (idempotent).</summary>
    Task<LeaseWriteResult> SwitchPhaseAsync(TrialLease lease, int outerStep, CancellationToken cancellationToken);

    /// <summary>Completes the trial with its result and last metrics in one transaction; completes the sweep after its last trial.</summary>
    Task<LeaseWriteResult> CompleteAsync(TrialLease lease, TrialCompletion completion, CancellationToken cancellationToken);

    /// <summary>Fails the attempt: requeued if retryable and attempts remain, otherwise failed with the reason.</summary>
    Task<LeaseWriteResult> FailAsync(TrialLease lease, TrialFailure failure, CancellationToken cancellationToken);

    /// <summary>Gives the trial back to the queue without counting a failure (graceful shutdown, a paused sweep).</summary>
    Task<LeaseWriteResult> ReleaseAsync(TrialLease lease, CancellationToken cancellationToken);

    /// <summary>Subscribes to "work may be available" signals; listening is established when this returns.</summary>
    Task<IWorkSignal> ListenForWorkAsync(CancellationToken cancellationToken);

    /// <summary>
    /// If elected (one reaper at a time), requeues running trials whose leases expired by the database's clock, and
    /// fails those that have used their max attempts with the reason; forgets long-silent workers.
    /// </summary>
    Task<ReapReport> ReapExpiredLeasesAsync(CancellationToken cancellationToken);

    /// <summary>Registers the worker or refreshes its heartbeat (database time).</summary>
    Task<WorkerRecord> RecordWorkerHeartbeatAsync(WorkerRegistration worker, CancellationToken cancellationToken);

    Task<IReadOnlyList<WorkerRecord>> ListWorkersAsync(CancellationToken cancellationToken);

    Task RemoveWorkerAsync(string workerId, CancellationToken cancellationToken);
}
