namespace Bilevel.Tensors.Internal;

/// <summary>
/// A pooled buffer shared by a tensor and its aliases (reshapes, autodiff views). Reference counted so the buffer goes
/// back to the pool exactly once, when the last tensor using it is disposed.
/// </summary>
internal sealed class Storage<T> where T : unmanaged
{
    private T[]? array;
    private int references = 1;

    public Storage(int length) => array = BufferPool<T>.Rent(length);

    /// <summary>The buffer, or null once every user has released it.</summary>
    public T[]? Array => array;

    public void AddReference()
    {
        if (Interlocked.Increment(ref references) <= 1)
            throw new ObjectDisposedException(nameof(Storage<T>), "A released tensor buffer cannot be shared again.");
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref references) != 0) return;
        var a = Interlocked.Exchange(ref array, null);
        if (a is not null) BufferPool<T>.Return(a);
    }
}
