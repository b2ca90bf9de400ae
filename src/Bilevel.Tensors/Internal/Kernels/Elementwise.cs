using System.Numerics;

namespace Bilevel.Tensors.Internal.Kernels;

/// <summary>Elementwise maps over whole tensors, split across threads when large.</summary>
internal static class Elementwise
{
    private const int ParallelThreshold = 1 << 16;

    public static void Map<T>(T[] source, T[] destination, int length, SpanMap<T> kernel)
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

    /// <summary>1 where <paramref name="predicate"/> holds, else 0; vectorised for the comparisons masks need.</summary>
    public static void Mask<T>(ReadOnlySpan<T> x, Span<T> destination, T low, T high, bool lowInclusive, bool highInclusive)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported)
        {
            var lo = new Vector<T>(low);
            var hi = new Vector<T>(high);
            var one = Vector<T>.One;
            for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var v = new Vector<T>(x.Slice(i));
                var aboveLow = lowInclusive ? Vector.GreaterThanOrEqual(v, lo) : Vector.GreaterThan(v, lo);
                var belowHigh = highInclusive ? Vector.LessThanOrEqual(v, hi) : Vector.LessThan(v, hi);
                Vector.ConditionalSelect(aboveLow & belowHigh, one, Vector<T>.Zero).CopyTo(destination.Slice(i));
            }
        }
        for (; i < x.Length; i++)
        {
            T v = x[i];
            bool inside = (lowInclusive ? v >= low : v > low) && (highInclusive ? v <= high : v < high);
            destination[i] = inside ? T.One : T.Zero;
        }
    }
}
