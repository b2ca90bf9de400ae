namespace Bilevel.Tensors.Internal;

/// <summary>
/// A pooled buffer shared by a tensor and its aliases (reshapes, autodiff views). Reference counted so the buffer goes
/// back to the pool exactly once, when the last tensor using it is disposed. No finalizer: tensors are disposed by
/// their <see cref="TensorScope"/>, and a buffer never returned stays allocated, as an idle pooled one would.
/// </summary>
internal sealed class Storage<T> where T : unmanaged
{
    private readonly NativeBuffer<T> buffer;
    private int references = 1;
    private int returned;

    public Storage(int length) => buffer = BufferPool<T>.Rent(length);

    /// <summary>The buffer; reading it once every user has released it throws, since its memory may be unmapped.</summary>
    public NativeBuffer<T> Buffer => Volatile.Read(ref returned) == 0
        ? buffer
        : throw new ObjectDisposedException(nameof(Storage<T>), "The tensor buffer was returned to the pool.");

    public void AddReference()
    {
        if (Interlocked.Increment(ref references) <= 1)
            throw new ObjectDisposedException(nameof(Storage<T>), "A released tensor buffer cannot be shared again.");
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref references) != 0) return;
        // The flag, not the count, decides: a failed AddReference leaves the count above 0 again, and a buffer
        // returned twice would be lent to two tensors at once.
        if (Interlocked.Exchange(ref returned, 1) == 0) BufferPool<T>.Return(buffer);
    }
}
