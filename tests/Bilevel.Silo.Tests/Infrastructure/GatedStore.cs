using Bilevel.Contracts;
using Bilevel.Grid;

namespace Bilevel.Silo.Tests.Infrastructure;

/// <summary>
/// A store whose fenced writes and heartbeats (the calls a running trial makes) wait at a gate while it is closed,
/// and that records the outer steps of the progress it was asked to save: a worker that stalls (a long GC pause, a
/// frozen VM) without the test sleeping.
/// </summary>
internal sealed class GatedStore(IGridStore inner) : IGridStore
{
    private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _blocked = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _closed;

    public List<int> SavedSteps { get; } = [];

    /// <summary>Completes when a call first waits at the closed gate.</summary>
    public Task Blocked => _blocked.Task;

    public void Close() => _closed = true;

    public void Open()
    {
        _closed = false;
        _open.TrySetResult();
    }

    private async Task PassAsync(CancellationToken cancellationToken)
    {
        if (!_closed)
            return;
        _blocked.TrySetResult();
        await _open.Task.WaitAsync(cancellationToken);
    }

    public async Task<HeartbeatResult> HeartbeatAsync(TrialLease lease, CancellationToken cancellationToken)
    {
        await PassAsync(cancellationToken);
        return await inner.HeartbeatAsync(lease, cancellationToken);
    }

    public async Task<LeaseWriteResult> SaveProgressAsync(TrialLease lease, TrialProgress progress, CancellationToken cancellationToken)
    {
        await PassAsync(cancellationToken);
        lock (SavedSteps)
            SavedSteps.Add(progress.OuterStep);
        return await inner.SaveProgressAsync(lease, progress, cancellationToken);
    }

    public async Task<LeaseWriteResult> SwitchPhaseAsync(TrialLease lease, int outerStep, CancellationToken cancellationToken)
    {
        await PassAsync(cancellationToken);
        return await inner.SwitchPhaseAsync(lease, outerStep, cancellationToken);
    }

    public async Task<LeaseWriteResult> CompleteAsync(TrialLease lease, TrialCompletion completion, CancellationToken cancellationToken)
    {
        await PassAsync(cancellationToken);
        return await inner.CompleteAsync(lease, completion, cancellationToken);
    }

    public async Task<LeaseWriteResult> FailAsync(TrialLease lease, TrialFailure failure, CancellationToken cancellationToken)
    {
        await PassAsync(cancellationToken);
        return await inner.FailAsync(lease, failure, cancellationToken);
    }

    public async Task<LeaseWriteResult> ReleaseAsync(TrialLease lease, CancellationToken cancellationToken)
    {
        await PassAsync(cancellationToken);
        return await inner.ReleaseAsync(lease, cancellationToken);
    }

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
