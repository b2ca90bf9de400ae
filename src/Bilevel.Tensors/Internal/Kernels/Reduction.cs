using System.Numerics;
using TP = System.Numerics.Tensors.TensorPrimitives;

namespace Bilevel.Tensors.Internal.Kernels;

/// <summary>An associative reduction: combine whole rows elementwise, or fold one contiguous run to a value.</summary>
internal interface IReduceKernel<T>
{
    static abstract T Identity { get; }

    static abstract T Fold(T accumulator, ReadOnlySpan<T> run);

    static abstract void Combine(Span<T> accumulator, ReadOnlySpan<T> row);
}

internal readonly struct SumReduce<T> : IReduceKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static T Identity => T.Zero;
    public static T Fold(T accumulator, ReadOnlySpan<T> run) => accumulator + TP.Sum(run);
    public static void Combine(Span<T> accumulator, ReadOnlySpan<T> row) => TP.Add(accumulator, row, accumulator);
}

internal readonly struct MaxReduce<T> : IReduceKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static T Identity => T.NegativeInfinity;
    public static T Fold(T accumulator, ReadOnlySpan<T> run) => run.IsEmpty ? accumulator : T.Max(accumulator, TP.Max(run));
    public static void Combine(Span<T> accumulator, ReadOnlySpan<T> row) => TP.Max(accumulator, row, accumulator);
}

/// <summary>
/// Reduces a row-major tensor over a set of axes in one pass in memory order. Axes are first merged into
/// alternating kept / reduced groups; the innermost group is then either folded (reduced) or combined row by row
/// (kept). The order of every floating-point addition is fixed by the shape alone.
/// </summary>
internal static class Reduction
{
    public static void Reduce<T, TKernel>(ReadOnlySpan<T> source, Shape shape, ReadOnlySpan<bool> reduced, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TKernel : IReduceKernel<T>
    {
        destination.Fill(TKernel.Identity);
        if (shape.Length == 0) return;
        var sizes = new List<int>();
        var isReduced = new List<bool>();
        for (int i = 0; i < shape.Rank; i++)
        {
            if (shape[i] == 1) continue;
            if (isReduced.Count > 0 && isReduced[^1] == reduced[i]) sizes[^1] *= shape[i];
            else
            {
                sizes.Add(shape[i]);
                isReduced.Add(reduced[i]);
            }
        }
        if (sizes.Count == 0)
        {
            destination[0] = TKernel.Fold(destination[0], source[..1]);
            return;
        }
        int groups = sizes.Count;
        int inner = sizes[groups - 1];
        bool innerReduced = isReduced[groups - 1];
        // Destination stride of each outer group: kept groups advance the output, reduced ones do not.
        var dstStride = new int[groups];
        int s = innerReduced ? 1 : inner;
        for (int g = groups - 2; g >= 0; g--)
        {
            dstStride[g] = isReduced[g] ? 0 : s;
            if (!isReduced[g]) s *= sizes[g];
        }
        Span<int> index = stackalloc int[groups];
        index.Clear();
        int rows = shape.Length / inner;
        int dst = 0;
        for (int row = 0; row < rows; row++)
        {
            var run = source.Slice(row * inner, inner);
            if (innerReduced) destination[dst] = TKernel.Fold(destination[dst], run);
            else TKernel.Combine(destination.Slice(dst, inner), run);
            for (int g = groups - 2; g >= 0; g--)
            {
                dst += dstStride[g];
                if (++index[g] < sizes[g]) break;
                dst -= dstStride[g] * sizes[g];
                index[g] = 0;
            }
        }
    }
}
