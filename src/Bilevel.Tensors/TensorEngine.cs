using Bilevel.Tensors.Internal.Kernels;

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

    /// <summary>
    /// Runs <paramref name="body"/>(i) for every i in [0, <paramref name="count"/>) on up to
    /// <paramref name="threads"/> threads — the caller's and the engine's kernel workers — for work that is parallel
    /// at a coarse grain (independent chunks of directions). Each item's kernels are limited to an equal share of
    /// <see cref="ThreadCount"/> (at least 1), so the two levels do not oversubscribe the cores. Threads claim items
    /// in arrival order, so an item's work must depend on its index alone; returns when every item has run and
    /// rethrows the first exception. With one thread or one item, the items run in order on the caller, their
    /// kernels on the usual threads.
    /// </summary>
    public static void RunSideBySide(int count, int threads, Action<int> body)
    {
        if (RanInOrder(count, threads, body)) return;
        int sideBySide = Math.Min(count, threads);
        KernelThreads.Run(count, sideBySide, WithKernelShare(sideBySide, body));
    }

    /// <summary>
    /// As <see cref="RunSideBySide"/>, for items that evaluate one function on the same primal values and differ only
    /// in the tangents they carry (chunks of forward-mode directions): items that run at the same time compute each
    /// large primal product once between them, each a share of its rows, instead of each computing all of it. Items
    /// run in rounds of <paramref name="threads"/>. A body must compute no large product of anything but the
    /// function's values and tangents while it runs (use its results after, outside).
    /// </summary>
    public static void RunSharingPrimal(int count, int threads, Action<int> body)
    {
        if (RanInOrder(count, threads, body)) return;
        for (int first = 0; first < count; first += threads)
        {
            int round = Math.Min(threads, count - first);
            PrimalSharing.RunItems(first, round, WithKernelShare(round, body));
        }
    }

    /// <summary>Checks the arguments of a side-by-side run; with one thread or one item, runs the items in order on the caller and returns true.</summary>
    private static bool RanInOrder(int count, int threads, Action<int> body)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        if (Math.Min(count, threads) > 1) return false;
        for (int i = 0; i < count; i++) body(i);
        return true;
    }

    /// <summary><paramref name="body"/> with its kernels limited to an equal share (at least 1) of the caller's <see cref="ThreadCount"/> among <paramref name="sideBySide"/> items.</summary>
    private static Action<int> WithKernelShare(int sideBySide, Action<int> body)
    {
        int kernelThreads = Math.Max(1, ThreadCount / sideBySide);
        return i =>
        {
            using var limit = LimitThreads(kernelThreads);
            body(i);
        };
    }

    public readonly struct ThreadLimit : IDisposable
    {
        private readonly int previous;

        internal ThreadLimit(int previous) => this.previous = previous;

        public void Dispose() => threadOverride = previous;
    }
}
