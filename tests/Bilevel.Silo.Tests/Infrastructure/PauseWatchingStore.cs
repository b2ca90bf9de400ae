using Bilevel.Grid;

namespace Bilevel.Silo.Tests.Infrastructure;

/// <summary>A store that tells when a trial's heartbeat has first found its sweep paused, so a test waits for that rather than sleeping.</summary>
internal sealed class PauseWatchingStore(IGridStore inner) : ForwardingStore(inner)
{
    private readonly TaskCompletionSource _pauseSeen = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when a heartbeat first answers that the sweep is paused.</summary>
    public Task PauseSeen => _pauseSeen.Task;

    public override async Task<HeartbeatResult> HeartbeatAsync(TrialLease lease, CancellationToken cancellationToken)
    {
        var result = await base.HeartbeatAsync(lease, cancellationToken);
        if (result.SweepPaused)
            _pauseSeen.TrySetResult();
        return result;
    }
}
