namespace Bilevel.Grid;

/// <summary>
/// Wakes an idle worker when trials may have become claimable (a sweep submitted or resumed, a trial requeued).
/// Signals are latched: one that arrives between a fruitless claim and the next wait is not lost. One waiter at a
/// time per signal.
/// </summary>
public interface IWorkSignal : IAsyncDisposable
{
    /// <summary>True when woken by a signal, false when <paramref name="timeout"/> passed first.</summary>
    Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken);
}
