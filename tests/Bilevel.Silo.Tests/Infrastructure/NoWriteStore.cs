using Bilevel.Contracts;
using Bilevel.Grid;

namespace Bilevel.Silo.Tests.Infrastructure;

/// <summary>A store whose trial writes and heartbeats succeed without touching the database: a trial's pure compute time.</summary>
internal sealed class NoWriteStore(IGridStore inner) : IGridStore
{
    public Task<HeartbeatResult> HeartbeatAsync(TrialLease lease, CancellationToken cancellationToken) =>
        Task.FromResult(new HeartbeatResult(true, false, DateTimeOffset.MaxValue));

    public Task<LeaseWriteResult> SaveProgressAsync(TrialLease lease, TrialProgress progress, CancellationToken cancellationToken) => Applied;

    public Task<LeaseWriteResult> SwitchPhaseAsync(TrialLease lease, int outerStep, CancellationToken cancellationToken) => Applied;

    public Task<LeaseWriteResult> CompleteAsync(TrialLease lease, TrialCompletion completion, CancellationToken cancellationToken) => Applied;

    public Task<LeaseWriteResult> FailAsync(TrialLease lease, TrialFailure failure, CancellationToken cancellationToken) => Applied;

    public Task<LeaseWriteResult> ReleaseAsync(TrialLease lease, CancellationToken cancellationToken) => Applied;

    private static Task<LeaseWriteResult> Applied => Task.FromResult(LeaseWriteResult.Applied);

    public Task MigrateAsync(CancellationToken cancellationToken) => inner.MigrateAsync(cancellationToken);

    public Task<SweepRecord> CreateSweepAsync(SweepSpec spec, CancellationToken cancellationToken) => inner.CreateSweepAsync(spec, cancellationToken);

    public Task<SweepRecord?> GetSweepAsync(long sweepId, CancellationToken cancellationToken) => inner.GetSweepAsync(sweepId, cancellationToken);

    public Task<PageView<SweepRecord>> ListSweepsAsync(SweepListRequest request, CancellationToken cancellationToken) => inner.ListSweepsAsync(request, cancellationToken);

    public Task<SweepTransitionResult> PauseSweepAsync(long sweepId, CancellationToken cancellationToken) => inner.PauseSweepAsync(sweepId, cancellationToken);

    public Task<SweepTransitionResult> ResumeSweepAsync(long sweepId, CancellationToken cancellationToken) => inner.ResumeSweepAsync(sweepId, cancellationToken);

    public Task<SweepTransitionResult> CancelSweepAsync(long sweepId, CancellationToken cancellationToken) => inner.CancelSweepAsync(sweepId, cancellationToken);

    public Task<TrialRecord?> GetTrialAsync(long trialId, CancellationToken cancellationToken) => inner.GetTrialAsync(trialId, cancellationToken);

    public Task<PageView<TrialRecord>> ListTrialsAsync(TrialListRequest request, CancellationToken cancellationToken) => inner.ListTrialsAsync(request, cancellationToken);

    public Task<IReadOnlyList<MetricSample>> GetMetricsAsync(MetricsRequest request, CancellationToken cancellationToken) => inner.GetMetricsAsync(request, cancellationToken);

    public Task<BestTrial?> GetBestTrialAsync(long sweepId, string metric, MetricGoal goal, CancellationToken cancellationToken) =>
        inner.GetBestTrialAsync(sweepId, metric, goal, cancellationToken);

    public Task<CheckpointRecord?> GetCheckpointAsync(long trialId, CancellationToken cancellationToken) => inner.GetCheckpointAsync(trialId, cancellationToken);

    public Task<ClaimedTrial?> ClaimAsync(ClaimRequest request, CancellationToken cancellationToken) => inner.ClaimAsync(request, cancellationToken);

    public Task<IWorkSignal> ListenForWorkAsync(CancellationToken cancellationToken) => inner.ListenForWorkAsync(cancellationToken);

    public Task<ReapReport> ReapExpiredLeasesAsync(CancellationToken cancellationToken) => inner.ReapExpiredLeasesAsync(cancellationToken);

    public Task<WorkerRecord> RecordWorkerHeartbeatAsync(WorkerRegistration worker, CancellationToken cancellationToken) => inner.RecordWorkerHeartbeatAsync(worker, cancellationToken);

    public Task<IReadOnlyList<WorkerRecord>> ListWorkersAsync(CancellationToken cancellationToken) => inner.ListWorkersAsync(cancellationToken);

    public Task RemoveWorkerAsync(string workerId, CancellationToken cancellationToken) => inner.RemoveWorkerAsync(workerId, cancellationToken);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
