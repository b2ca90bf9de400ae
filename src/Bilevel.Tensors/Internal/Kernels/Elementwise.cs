using System.Numerics;

namespace Bilevel.Tensors.Internal.Kernels;

/// <summary>Elementwise maps over whole tensors, split across threads when large.</summary>
internal static class Elementwise
{
    /// <summary>Below this many elements a map runs on the calling thread: a fork-join would cost more than it saves.</summary>
    private const int ParallelThreshold = 1 << 16;

    /// <summary>
    /// The same for a pass that only moves memory (a copy, a sum, x + α·y, a clear): it takes a few cycles per
    /// element where a map takes tens, so it needs more elements to pay for the fork-join.
    /// </summary>
    private const int MemoryPassThreshold = 1 << 18;

    /// <summary>
    /// body(start, end) over contiguous parts of [0, length) of a pass that only moves memory, on the kernel threads
    /// when the pass is large. For passes whose elements are independent, so that every split, and every thread
    /// count, gives the same bits. Such passes over stacked tangents ([b, M] parameter-sized: an optimizer step, a
    /// slice of the flat parameter vector, a cotangent buffer cleared) are as large as a GEMM's operands, and on one
    /// thread they left the other idle while the kernels split everything else.
    /// </summary>
    private static void MemoryPass(int length, Action<int, int> body) => Split(length, MemoryPassThreshold, body);

    /// <summary>One part of a block: block <c>o</c>'s elements [within, within + run).</summary>
    internal delegate void BlockRun(int o, int within, int run);

    /// <summary>
    /// A memory pass over <paramref name="blocks"/> blocks of <paramref name="block"/> elements, handed out as runs
    /// within blocks and split over threads as one pass: b stacked tangents of something small are together as large
    /// as a parameter vector.
    /// </summary>
    public static void BlockRuns(int blocks, int block, BlockRun body) => BlockRuns(blocks, block, MemoryPassThreshold, body);

    private static void BlockRuns(int blocks, int block, int threshold, BlockRun body)
    {
        if (block == 0) return;
        Split(blocks * block, threshold, (first, end) =>
        {
            for (int position = first; position < end;)
            {
                int o = position / block, within = position % block, run = Math.Min(end - position, block - within);
                body(o, within, run);
                position += run;
            }
        });
    }

    private static void Split(int length, int threshold, Action<int, int> body)
    {
        if (length == 0) return;
        if (length < threshold)
        {
            body(0, length);
            return;
        }
        Parallelism.For(length, threshold / 2, body);
    }

    public static void Map<T>(NativeBuffer<T> source, NativeBuffer<T> destination, int length, SpanMap<T> kernel)
        where T : unmanaged
        // Some TensorPrimitives kernels (Sigmoid) reject empty spans; Split runs nothing for an empty map.
        => Split(length, ParallelThreshold, (start, end) => kernel(source.AsSpan(start, end - start), destination.AsSpan(start, end - start)));

    /// <summary>destination = x·alpha + addend over whole buffers of <paramref name="length"/> elements.</summary>
    public static void MultiplyAdd<T>(NativeBuffer<T> x, T alpha, NativeBuffer<T> addend, NativeBuffer<T> destination, int length)
        where T : unmanaged, IFloatingPointIeee754<T>
        => MemoryPass(length, (start, end) => System.Numerics.Tensors.TensorPrimitives.MultiplyAdd<T>(
            x.AsSpan(start, end - start), alpha, addend.AsSpan(start, end - start), destination.AsSpan(start, end - start)));

    /// <summary>destination = x·alpha over whole buffers of <paramref name="length"/> elements.</summary>
    public static void Multiply<T>(NativeBuffer<T> x, T alpha, NativeBuffer<T> destination, int length)
        where T : unmanaged, IFloatingPointIeee754<T>
        => MemoryPass(length, (start, end) => System.Numerics.Tensors.TensorPrimitives.Multiply<T>(
            x.AsSpan(start, end - start), alpha, destination.AsSpan(start, end - start)));

    /// <summary>destination = x + y over whole buffers of <paramref name="length"/> elements.</summary>
    public static void Add<T>(NativeBuffer<T> x, NativeBuffer<T> y, NativeBuffer<T> destination, int length)
        where T : unmanaged, IFloatingPointIeee754<T>
        => MemoryPass(length, (start, end) => System.Numerics.Tensors.TensorPrimitives.Add<T>(
            x.AsSpan(start, end - start), y.AsSpan(start, end - start), destination.AsSpan(start, end - start)));

    /// <summary>Sets <paramref name="length"/> elements of the buffer to zero.</summary>
    public static void Clear<T>(NativeBuffer<T> destination, int length) where T : unmanaged
        => MemoryPass(length, (start, end) => destination.AsSpan(start, end - start).Clear());

    /// <summary>Sets <paramref name="length"/> elements of the buffer to <paramref name="value"/>.</summary>
    public static void Fill<T>(NativeBuffer<T> destination, int length, T value) where T : unmanaged
        => MemoryPass(length, (start, end) => destination.AsSpan(start, end - start).Fill(value));

    /// <summary>
    /// destination = values where low ≤ x ≤ high (each end inclusive or not) and values·0 elsewhere (0, or NaN for a
    /// NaN or infinite value, which is never hidden): the derivative of relu and clamp applied to a (co)tangent in
    /// one pass, without materialising the 0/1 mask. <paramref name="values"/>
    /// may hold several blocks of x's length (stacked tangents), each gated by the same x.
    /// </summary>
    public static void Gate<T>(NativeBuffer<T> x, int length, NativeBuffer<T> values, int valuesLength, NativeBuffer<T> destination, T low, T high, bool lowInclusive, bool highInclusive)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Split over all the values, not block by block: b tangents of a small activation are one large pass.
        BlockRuns(length == 0 ? 0 : valuesLength / length, length, ParallelThreshold, (o, within, run) =>
            Gate<T>(x.AsSpan(within, run), values.AsSpan(o * length + within, run), destination.AsSpan(o * length + within, run), low, high, lowInclusive, highInclusive));
    }

    private static void Gate<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> v, Span<T> d, T low, T high, bool lowInclusive, bool highInclusive)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported)
        {
            var lo = new Vector<T>(low);
            var hi = new Vector<T>(high);
            for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var xv = new Vector<T>(x.Slice(i));
                var aboveLow = lowInclusive ? Vector.GreaterThanOrEqual(xv, lo) : Vector.GreaterThan(xv, lo);
                var belowHigh = highInclusive ? Vector.LessThanOrEqual(xv, hi) : Vector.LessThan(xv, hi);
                var vv = new Vector<T>(v.Slice(i));
                Vector.ConditionalSelect(aboveLow & belowHigh, vv, vv * Vector<T>.Zero).CopyTo(d.Slice(i));
            }
        }
        for (; i < x.Length; i++)
        {
            T xi = x[i];
            bool inside = (lowInclusive ? xi >= low : xi > low) && (highInclusive ? xi <= high : xi < high);
            d[i] = inside ? v[i] : v[i] * T.Zero;
        }
    }
}
