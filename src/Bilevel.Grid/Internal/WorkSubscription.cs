namespace Bilevel.Grid.Internal;

/// <summary>A latched wake-up: a signal with nobody waiting is kept for the next wait.</summary>
internal sealed class WorkSubscription(WorkSignalHub hub, TimeProvider time) : IWorkSignal
{
    private readonly Lock _gate = new();
    private bool _signalled;
    private TaskCompletionSource? _waiter;

    public void Signal()
    {
        TaskCompletionSource? waiter;
        lock (_gate)
        {
            _signalled = true;
            waiter = _waiter;
            _waiter = null;
        }
        waiter?.TrySetResult();
    }

    public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        Task wake;
        lock (_gate)
        {
            if (_signalled)
            {
                _signalled = false;
                return true;
            }
            _waiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            wake = _waiter.Task;
        }
        try
        {
            await wake.WaitAsync(timeout, time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return false;
        }
        lock (_gate)
            _signalled = false;
        return true;
    }

    public ValueTask DisposeAsync()
    {
        hub.Remove(this);
        return ValueTask.CompletedTask;
    }
}
