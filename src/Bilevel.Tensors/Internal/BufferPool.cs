namespace Bilevel.Tensors.Internal;

/// <summary>
/// Pinned arrays of exact lengths, reused. A training loop allocates the same sizes every step, so exact-length
/// buckets reach a steady state after the first step and the heap stops growing. Arrays are pinned (pinned object
/// heap) so native kernels can take their address without pinning on every call.
/// </summary>
internal static class BufferPool<T> where T : unmanaged
{
    /// <summary>Bytes the pool may hold idle; beyond this returned arrays are left to the garbage collector.</summary>
    private const long MaxRetainedBytes = 2L << 30;

    private static readonly Dictionary<int, Stack<T[]>> Buckets = [];
    private static readonly Lock Gate = new();
    private static long retainedBytes;

    public static T[] Rent(int length)
    {
        if (length == 0) return [];
        TensorMemory.Rented((long)length * Unsafe.SizeOf<T>());
        lock (Gate)
        {
            if (Buckets.TryGetValue(length, out var stack) && stack.Count > 0)
            {
                retainedBytes -= (long)length * Unsafe.SizeOf<T>();
                return stack.Pop();
            }
        }
        return GC.AllocateUninitializedArray<T>(length, pinned: true);
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
