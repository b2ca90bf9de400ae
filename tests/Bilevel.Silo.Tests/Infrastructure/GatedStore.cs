using Bilevel.Contracts;
using Bilevel.Grid;

namespace Bilevel.Silo.Tests.Infrastructure;

/// <summary>
/// A store whose fenced writes and heartbeats (the calls a running trial makes) wait at a gate while it is closed,
/// and that records the outer steps of the progress it was asked to save: a worker that stalls (a long GC pause, a
/// frozen VM) without the test sleeping.
/// </summary>
internal sealed class GatedStore(IGridStore inner) : ForwardingStore(inner)
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

    public override async Task<HeartbeatResult> HeartbeatAsync(TrialLease lease, CancellationToken cancellationToken)
    {
        await PassAsync(cancellationToken);
        return await base.HeartbeatAsync(lease, cancellationToken);
    }

    public override async Task<LeaseWriteResult> SaveProgressAsync(TrialLease lease, TrialProgress progress, CancellationToken cancellationToken)
    {
        await PassAsync(cancellationToken);
        lock (SavedSteps)
            SavedSteps.Add(progress.OuterStep);
        return await base.SaveProgressAsync(lease, progress, cancellationToken);
    }

    public override async Task<LeaseWriteResult> SwitchPhaseAsync(TrialLease lease, int outerStep, CancellationToken cancellationToken)
    {
        await PassAsync(cancellationToken);
        return await base.SwitchPhaseAsync(lease, outerStep, cancellationToken);
    }

    public override async Task<LeaseWriteResult> CompleteAsync(TrialLease lease, TrialCompletion completion, CancellationToken cancellationToken)
    {
        await PassAsync(cancellationToken);
        return await base.CompleteAsync(lease, completion, cancellationToken);
    }

    public override async Task<LeaseWriteResult> FailAsync(TrialLease lease, TrialFailure failure, CancellationToken cancellationToken)
    {
        await PassAsync(cancellationToken);
        return await base.FailAsync(lease, failure, cancellationToken);
    }

    public override async Task<LeaseWriteResult> ReleaseAsync(TrialLease lease, CancellationToken cancellationToken)
    {
        await PassAsync(cancellationToken);
        return await base.ReleaseAsync(lease, cancellationToken);
    }
}
