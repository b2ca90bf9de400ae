namespace Bilevel.Tensors;

/// <summary>
/// Process-wide settings of the engine. Results are bit-reproducible for a given <see cref="ThreadCount"/>:
/// every kernel partitions its work by this number alone, never by what the thread pool happens to offer.
/// </summary>
public static class TensorEngine
{
    private static int threadCount = Math.Max(1, Environment.ProcessorCount);

    /// <summary>Threads a kernel may use. Defaults to the processor count; must be at least 1.</summary>
    public static int ThreadCount
    {
        get => threadCount;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, nameof(ThreadCount));
            threadCount = value;
        }
    }
}
