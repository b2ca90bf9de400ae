using Bilevel.Contracts;
using Bilevel.Grid;

namespace Bilevel.Silo.Tests.Infrastructure;

/// <summary>A store whose trial writes and heartbeats succeed without touching the database: a trial's pure compute time.</summary>
internal sealed class NoWriteStore(IGridStore inner) : ForwardingStore(inner)
{
    public override Task<HeartbeatResult> HeartbeatAsync(TrialLease lease, CancellationToken cancellationToken) =>
        Task.FromResult(new HeartbeatResult(true, false, DateTimeOffset.MaxValue));

    public override Task<LeaseWriteResult> SaveProgressAsync(TrialLease lease, TrialProgress progress, CancellationToken cancellationToken) => Applied;

    public override Task<LeaseWriteResult> SwitchPhaseAsync(TrialLease lease, int outerStep, CancellationToken cancellationToken) => Applied;

    public override Task<LeaseWriteResult> CompleteAsync(TrialLease lease, TrialCompletion completion, CancellationToken cancellationToken) => Applied;

    public override Task<LeaseWriteResult> FailAsync(TrialLease lease, TrialFailure failure, CancellationToken cancellationToken) => Applied;

    public override Task<LeaseWriteResult> ReleaseAsync(TrialLease lease, CancellationToken cancellationToken) => Applied;

    private static Task<LeaseWriteResult> Applied => Task.FromResult(LeaseWriteResult.Applied);
}
