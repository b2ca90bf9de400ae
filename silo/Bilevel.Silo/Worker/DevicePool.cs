using Bilevel.Contracts;

namespace Bilevel.Silo.Worker;

/// <summary>
/// The slots of one device kind, shared by its claim loops. A loop about to claim takes every free slot, so it can
/// claim a trial that needs several, and gives back what the claimed trial does not use; a trial holds its slots
/// until it ends.
/// </summary>
internal sealed class DevicePool(DeviceKind kind, int slots)
{
    private readonly Lock _gate = new();
    private int _free = slots;
    private TaskCompletionSource? _freed;

    public DeviceKind Kind { get; } = kind;

    public int Slots { get; } = slots;

    /// <summary>Waits until at least one slot is free and takes all free slots; returns how many.</summary>
    public async Task<int> TakeAllAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task freed;
            lock (_gate)
            {
                if (_free > 0)
                {
                    var taken = _free;
                    _free = 0;
                    return taken;
                }
                _freed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                freed = _freed.Task;
            }
            await freed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public void Return(int count)
    {
        if (count <= 0)
            return;
        TaskCompletionSource? freed;
        lock (_gate)
        {
            _free += count;
            if (_free > Slots)
                throw new InvalidOperationException($"{Kind} slots: {_free} free of {Slots}; a slot was returned twice.");
            freed = _freed;
            _freed = null;
        }
        freed?.TrySetResult();
    }
}
