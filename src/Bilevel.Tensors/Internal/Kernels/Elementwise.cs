using System.Numerics;

namespace Bilevel.Tensors.Internal.Kernels;

/// <summary>Elementwise maps over whole tensors, split across threads when large.</summary>
internal static class Elementwise
{
    private const int ParallelThreshold = 1 << 16;

    public static void Map<T>(NativeBuffer<T> source, NativeBuffer<T> destination, int length, SpanMap<T> kernel)
        where T : unmanaged
    {
        // Some TensorPrimitives kernels (Sigmoid) reject empty spans; an empty map has nothing to do.
        if (length == 0) return;
        if (length < ParallelThreshold)
        {
            kernel(source.AsSpan(0, length), destination.AsSpan(0, length));
            return;
        }
        Parallelism.For(length, ParallelThreshold / 2, (start, end) =>
            kernel(source.AsSpan(start, end - start), destination.AsSpan(start, end - start)));
    }

    /// <summary>
    /// destination = values where low ≤ x ≤ high (each end inclusive or not) and values·0 elsewhere (0, or NaN for a
    /// NaN or infinite value, which is never hidden): the derivative of relu and clamp applied to a (co)tangent in
    /// one pass, without materialising the 0/1 mask. <paramref name="values"/>
    /// may hold several blocks of x's length (stacked tangents), each gated by the same x.
    /// </summary>
    public static void Gate<T>(NativeBuffer<T> x, int length, NativeBuffer<T> values, int valuesLength, NativeBuffer<T> destination, T low, T high, bool lowInclusive, bool highInclusive)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (length == 0) return;
        for (int block = 0; block < valuesLength; block += length)
        {
            int offset = block;
            if (length < ParallelThreshold)
                Gate<T>(x.AsSpan(0, length), values.AsSpan(offset, length), destination.AsSpan(offset, length), low, high, lowInclusive, highInclusive);
            else
                Parallelism.For(length, ParallelThreshold / 2, (start, end) =>
                    Gate<T>(x.AsSpan(start, end - start), values.AsSpan(offset + start, end - start), destination.AsSpan(offset + start, end - start), low, high, lowInclusive, highInclusive));
        }
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
