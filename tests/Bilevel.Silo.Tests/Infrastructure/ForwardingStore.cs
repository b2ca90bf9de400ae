using Bilevel.Contracts;
using Bilevel.Grid;

namespace Bilevel.Silo.Tests.Infrastructure;

/// <summary>
/// An <see cref="IGridStore"/> that hands every call to another store; test decorators override the calls they
/// change (a running trial's fenced writes and heartbeats). Disposing it leaves the inner store to its owner.
/// </summary>
internal abstract class ForwardingStore(IGridStore inner) : IGridStore
{
    public virtual Task<HeartbeatResult> HeartbeatAsync(TrialLease lease, CancellationToken cancellationToken) => inner.HeartbeatAsync(lease, cancellationToken);

    public virtual Task<LeaseWriteResult> SaveProgressAsync(TrialLease lease, TrialProgress progress, CancellationToken cancellationToken) =>
        inner.SaveProgressAsync(lease, progress, cancellationToken);

    public virtual Task<LeaseWriteResult> SwitchPhaseAsync(TrialLease lease, int outerStep, CancellationToken cancellationToken) =>
        inner.SwitchPhaseAsync(lease, outerStep, cancellationToken);

    public virtual Task<LeaseWriteResult> CompleteAsync(TrialLease lease, TrialCompletion completion, CancellationToken cancellationToken) =>
        inner.CompleteAsync(lease, completion, cancellationToken);

    public virtual Task<LeaseWriteResult> FailAsync(TrialLease lease, TrialFailure failure, CancellationToken cancellationToken) =>
        inner.FailAsync(lease, failure, cancellationToken);

    public virtual Task<LeaseWriteResult> ReleaseAsync(TrialLease lease, CancellationToken cancellationToken) => inner.ReleaseAsync(lease, cancellationToken);

    public virtual Task MigrateAsync(CancellationToken cancellationToken) => inner.MigrateAsync(cancellationToken);

    public virtual Task<SweepRecord> CreateSweepAsync(SweepSpec spec, CancellationToken cancellationToken) => inner.CreateSweepAsync(spec, cancellationToken);

    public virtual Task<SweepRecord?> GetSweepAsync(long sweepId, CancellationToken cancellationToken) => inner.GetSweepAsync(sweepId, cancellationToken);

    public virtual Task<PageView<SweepRecord>> ListSweepsAsync(SweepListRequest request, CancellationToken cancellationToken) => inner.ListSweepsAsync(request, cancellationToken);

    public virtual Task<SweepTransitionResult> PauseSweepAsync(long sweepId, CancellationToken cancellationToken) => inner.PauseSweepAsync(sweepId, cancellationToken);

    public virtual Task<SweepTransitionResult> ResumeSweepAsync(long sweepId, CancellationToken cancellationToken) => inner.ResumeSweepAsync(sweepId, cancellationToken);

    public virtual Task<SweepTransitionResult> CancelSweepAsync(long sweepId, CancellationToken cancellationToken) => inner.CancelSweepAsync(sweepId, cancellationToken);

    public virtual Task<TrialRecord?> GetTrialAsync(long trialId, CancellationToken cancellationToken) => inner.GetTrialAsync(trialId, cancellationToken);

    public virtual Task<PageView<TrialRecord>> ListTrialsAsync(TrialListRequest request, CancellationToken cancellationToken) => inner.ListTrialsAsync(request, cancellationToken);

    public virtual Task<IReadOnlyList<MetricSample>> GetMetricsAsync(MetricsRequest request, CancellationToken cancellationToken) => inner.GetMetricsAsync(request, cancellationToken);

    public virtual Task<BestTrial?> GetBestTrialAsync(long sweepId, string metric, MetricGoal goal, CancellationToken cancellationToken) =>
        inner.GetBestTrialAsync(sweepId, metric, goal, cancellationToken);

    public virtual Task<CheckpointRecord?> GetCheckpointAsync(long trialId, CancellationToken cancellationToken) => inner.GetCheckpointAsync(trialId, cancellationToken);

    public virtual Task<ClaimedTrial?> ClaimAsync(ClaimRequest request, CancellationToken cancellationToken) => inner.ClaimAsync(request, cancellationToken);

    public virtual Task<IWorkSignal> ListenForWorkAsync(CancellationToken cancellationToken) => inner.ListenForWorkAsync(cancellationToken);

    public virtual Task<ReapReport> ReapExpiredLeasesAsync(CancellationToken cancellationToken) => inner.ReapExpiredLeasesAsync(cancellationToken);

    public virtual Task<WorkerRecord> RecordWorkerHeartbeatAsync(WorkerRegistration worker, CancellationToken cancellationToken) => inner.RecordWorkerHeartbeatAsync(worker, cancellationToken);

    public virtual Task<IReadOnlyList<WorkerRecord>> ListWorkersAsync(CancellationToken cancellationToken) => inner.ListWorkersAsync(cancellationToken);

    public virtual Task RemoveWorkerAsync(string workerId, CancellationToken cancellationToken) => inner.RemoveWorkerAsync(workerId, cancellationToken);

    public virtual ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
