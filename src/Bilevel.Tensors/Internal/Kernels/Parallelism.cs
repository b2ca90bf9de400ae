namespace Bilevel.Tensors.Internal.Kernels;

/// <summary>
/// Splits [0, count) into at most <see cref="TensorEngine.ThreadCount"/> contiguous chunks of at least
/// <paramref name="minChunk"/> items. The split depends only on the count and the thread setting, so any kernel
/// built on it computes the same bits on every run.
/// </summary>
internal static class Parallelism
{
    public static void For(int count, int minChunk, Action<int, int> body)
    {
        int chunks = ChunkCount(count, minChunk);
        if (chunks <= 1)
        {
            body(0, count);
            return;
        }
        ForChunks(count, chunks, (_, start, end) => body(start, end));
    }

    /// <summary>How many chunks <see cref="For"/> splits [0, count) into.</summary>
    public static int ChunkCount(int count, int minChunk) =>
        Math.Min(TensorEngine.ThreadCount, Math.Max(1, count / Math.Max(1, minChunk)));

    /// <summary>Runs body(chunk, start, end) for each of <paramref name="chunks"/> contiguous, near-equal parts of [0, count).</summary>
    public static void ForChunks(int count, int chunks, Action<int, int, int> body) =>
        KernelThreads.Run(chunks, c =>
        {
            long start = (long)count * c / chunks;
            long end = (long)count * (c + 1) / chunks;
            body(c, (int)start, (int)end);
        });
}
