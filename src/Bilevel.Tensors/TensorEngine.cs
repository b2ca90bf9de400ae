namespace Bilevel.Tensors;

/// <summary>
/// Process-wide settings of the engine. Results are bit-reproducible for a given <see cref="ThreadCount"/>:
/// every kernel partitions its work by this number alone, never by what the thread pool happens to offer.
/// </summary>
public static class TensorEngine
{
    private static int threadCount = Math.Max(1, Environment.ProcessorCount);
    [ThreadStatic] private static int threadOverride;

    /// <summary>
    /// Threads a kernel may use: the process-wide setting (default: the processor count, at least 1), or the limit
    /// set on this thread by <see cref="LimitThreads"/>.
    /// </summary>
    public static int ThreadCount
    {
        get => threadOverride > 0 ? threadOverride : threadCount;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, nameof(ThreadCount));
            threadCount = value;
        }
    }

    /// <summary>
    /// Limits the kernels called from this thread to <paramref name="threads"/> until disposed: for work that is
    /// already parallel at a coarser grain (independent directions on separate threads).
    /// </summary>
    public static ThreadLimit LimitThreads(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        var previous = threadOverride;
        threadOverride = threads;
        return new ThreadLimit(previous);
    }

    public readonly struct ThreadLimit : IDisposable
    {
        private readonly int previous;

        internal ThreadLimit(int previous) => this.previous = previous;

        public void Dispose() => threadOverride = previous;
    }
}
