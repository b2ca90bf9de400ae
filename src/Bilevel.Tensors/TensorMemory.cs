using Bilevel.Tensors.Internal;

namespace Bilevel.Tensors;

/// <summary>
/// Bytes of tensor buffers in use (rented from the pool and not yet returned), process-wide, and their high-water
/// mark: the figure estimators report as peak memory, independent of the garbage collector's timing. Also the
/// pool's idle buffers, and the call that gives them back to the operating system.
/// </summary>
public static class TensorMemory
{
    private static long live;
    private static long peak;

    public static long LiveBytes => Interlocked.Read(ref live);

    public static long PeakBytes => Interlocked.Read(ref peak);

    /// <summary>Bytes of buffers idle in the pool: neither in use nor given back to the operating system.</summary>
    public static long IdleBytes => BlockPool.IdleBytes;

    /// <summary>
    /// Frees every idle pooled buffer, so that the process's resident memory drops by about that much; returns the
    /// bytes freed. Thread-safe. A long-running worker calls it between trials (the pool keeps every size it has
    /// lent, so a finished trial's sizes would otherwise stay resident through the next trial), and a memory benchmark
    /// before a measured call, so that the call's buffers are counted as the call allocates them. The next requests allocate
    /// afresh, so a loop should not call it every step.
    /// </summary>
    public static long ReleaseIdle() => BlockPool.ReleaseIdle();

    /// <summary>Starts a new high-water mark at the current use.</summary>
    public static void ResetPeak() => Interlocked.Exchange(ref peak, Interlocked.Read(ref live));

    internal static void Rented(long bytes)
    {
        long now = Interlocked.Add(ref live, bytes);
        long seen = Interlocked.Read(ref peak);
        while (now > seen)
        {
            long previous = Interlocked.CompareExchange(ref peak, now, seen);
            if (previous == seen) break;
            seen = previous;
        }
    }

    internal static void Returned(long bytes) => Interlocked.Add(ref live, -bytes);
}
