using Bilevel.Contracts;
using Bilevel.Grid;

namespace Bilevel.Silo.Tests.Infrastructure;

/// <summary>
/// A store whose sweep reads wait until they are cancelled: a worker caught by shutdown after claiming a trial and
/// before running it, the window in which a trial used to stay running until its lease expired.
/// </summary>
internal sealed class StalledSpecStore(IGridStore inner) : ForwardingStore(inner)
{
    private readonly TaskCompletionSource _reading = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the worker first asks for a sweep.</summary>
    public Task Reading => _reading.Task;

    public override async Task<SweepRecord?> GetSweepAsync(long sweepId, CancellationToken cancellationToken)
    {
        _reading.TrySetResult();
        await Task.Delay(Timeout.Infinite, cancellationToken);
        return await base.GetSweepAsync(sweepId, cancellationToken);
    }
}
