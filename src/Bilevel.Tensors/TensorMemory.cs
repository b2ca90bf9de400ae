namespace Bilevel.Tensors;

/// <summary>
/// Bytes of tensor buffers in use (rented from the pool and not yet returned), process-wide, and their high-water
/// mark: the figure estimators report as peak memory, independent of the garbage collector's timing.
/// </summary>
public static class TensorMemory
{
    private static long live;
    private static long peak;

    public static long LiveBytes => Interlocked.Read(ref live);

    public static long PeakBytes => Interlocked.Read(ref peak);

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
