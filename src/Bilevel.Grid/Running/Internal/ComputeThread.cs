using System.Collections.Concurrent;

namespace Bilevel.Grid.Running.Internal;

/// <summary>
/// One trial's own thread for its computations (outer steps can take seconds). Kept off the thread pool so that a
/// worker's heartbeats, store calls and other trials' continuations never wait behind a long step, however many
/// trials run at once. Work items run one at a time, in order. Disposing lets the item in flight finish, runs
/// <c>afterLast</c> on this thread, and ends it.
/// </summary>
internal sealed class ComputeThread : IDisposable
{
    private readonly BlockingCollection<Action> _work = new();
    private readonly Thread _thread;
    private Action? _afterLast;

    public ComputeThread(string name)
    {
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>Runs <paramref name="work"/> on this thread; the task completes (on the pool) with its result or exception.</summary>
    public Task<T> RunAsync<T>(Func<T> work)
    {
        var completion = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Add(() =>
        {
            try
            {
                completion.SetResult(work());
            }
            catch (Exception e)
            {
                completion.SetException(e);
            }
        });
        return completion.Task;
    }

    /// <summary>Ends the thread after the queued work, then runs <paramref name="afterLast"/> on it (e.g. disposing what the work used).</summary>
    public void Dispose(Action? afterLast)
    {
        _afterLast = afterLast;
        Dispose();
    }

    public void Dispose()
    {
        if (!_work.IsAddingCompleted)
            _work.CompleteAdding();
    }

    private void Run()
    {
        foreach (var item in _work.GetConsumingEnumerable())
            item();
        _afterLast?.Invoke();
        _work.Dispose();
    }
}
