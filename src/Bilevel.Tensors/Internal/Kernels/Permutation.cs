using System.Numerics;

namespace Bilevel.Tensors.Internal.Kernels;

/// <summary>Copies a tensor into the layout of its axes permuted: output axis i is input axis perm[i].</summary>
internal static class Permutation
{
    public static void Permute<T>(ReadOnlySpan<T> source, Shape shape, ReadOnlySpan<int> perm, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rank = shape.Rank;
        if (shape.Length == 0) return;
        if (rank == 0)
        {
            destination[0] = source[0];
            return;
        }
        var inStrides = shape.Strides();
        var sizes = new int[rank];
        var strides = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            sizes[i] = shape[perm[i]];
            strides[i] = inStrides[perm[i]];
        }
        int inner = sizes[rank - 1];
        int innerStride = strides[rank - 1];
        Span<int> index = stackalloc int[rank];
        index.Clear();
        int rows = shape.Length / inner;
        int src = 0;
        for (int row = 0; row < rows; row++)
        {
            var d = destination.Slice(row * inner, inner);
            if (innerStride == 1) source.Slice(src, inner).CopyTo(d);
            else
                for (int j = 0, o = src; j < inner; j++, o += innerStride) d[j] = source[o];
            for (int a = rank - 2; a >= 0; a--)
            {
                src += strides[a];
                if (++index[a] < sizes[a]) break;
                src -= strides[a] * sizes[a];
                index[a] = 0;
            }
        }
    }
}
