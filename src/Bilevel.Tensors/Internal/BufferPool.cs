using System.Numerics;

namespace Bilevel.Tensors.Internal;

/// <summary>
/// Pinned arrays, reused, in size classes: a request gets an array of its class's capacity (see
/// <see cref="Capacity"/>), so tensors of nearby sizes (a parameter vector and its largest block, activations of
/// batches that differ a little) share buffers instead of each size keeping arrays of its own. A training loop
/// allocates the same sizes every step, so the classes reach a steady state after the first step and the heap stops
/// growing. Arrays are pinned (pinned object heap) so native kernels can take their address without pinning on
/// every call.
/// </summary>
internal static class BufferPool<T> where T : unmanaged
{
    /// <summary>Bytes the pool may hold idle; beyond this returned arrays are left to the garbage collector.</summary>
    private const long MaxRetainedBytes = 2L << 30;

    private static readonly Dictionary<int, Stack<T[]>> Buckets = [];
    private static readonly Lock Gate = new();
    private static long retainedBytes;

    /// <summary>
    /// An array of at least <paramref name="length"/> elements: an idle one of its class or, failing that, of one of
    /// the next four classes (at most twice the size), else a new one of its class. Taking a larger idle array rather
    /// than allocating keeps the pool near the true high-water mark when different sizes peak at different times
    /// (parameter-sized buffers in one phase of an estimator, activation-sized ones in another).
    /// </summary>
    public static T[] Rent(int length)
    {
        if (length == 0) return [];
        int capacity = Capacity(length);
        T[]? array = null;
        lock (Gate)
        {
            int size = capacity;
            for (int tries = 0; array is null && tries < (capacity > ExactUpTo ? 5 : 1); tries++, size = Capacity(size + 1))
            {
                if (Buckets.TryGetValue(size, out var stack) && stack.Count > 0)
                {
                    array = stack.Pop();
                    retainedBytes -= (long)array.Length * Unsafe.SizeOf<T>();
                }
            }
        }
        if (array is null)
        {
            // Touched in full now: a larger array later lent to smaller requests, then to larger ones, would
            // otherwise make the process grow page by page long after its pool stopped growing.
            array = GC.AllocateUninitializedArray<T>(capacity, pinned: true);
            array.AsSpan().Clear();
        }
        TensorMemory.Rented((long)array.Length * Unsafe.SizeOf<T>());
        return array;
    }

    /// <summary>Requests up to this many elements get arrays of exactly their length.</summary>
    private const int ExactUpTo = 4096;

    /// <summary>
    /// The size class of a request: exact up to 4096 elements (small arrays are cheap and often of one size), above
    /// that rounded up to one of four steps per octave (2^e·{1, 1.25, 1.5, 1.75}), which wastes at most 25% and 11%
    /// on average.
    /// </summary>
    internal static int Capacity(int length)
    {
        if (length <= ExactUpTo) return length;
        int step = 1 << (BitOperations.Log2((uint)length) - 2);
        long rounded = ((long)length + step - 1) / step * step;
        return (int)Math.Min(rounded, Array.MaxLength);
    }

    public static void Return(T[] array)
    {
        if (array.Length == 0) return;
        long bytes = (long)array.Length * Unsafe.SizeOf<T>();
        TensorMemory.Returned(bytes);
        lock (Gate)
        {
            if (retainedBytes + bytes > MaxRetainedBytes) return;
            if (!Buckets.TryGetValue(array.Length, out var stack))
                Buckets[array.Length] = stack = new Stack<T[]>();
            stack.Push(array);
            retainedBytes += bytes;
        }
    }

    /// <summary>Bytes currently idle in the pool (for tests and diagnostics).</summary>
    public static long RetainedBytes
    {
        get { lock (Gate) return retainedBytes; }
    }
}
