using System.Numerics;

namespace Bilevel.Tensors.Internal.Kernels;

/// <summary>Runs a binary kernel over two broadcast operands, one innermost run at a time.</summary>
internal static class Broadcasting
{
    private const int ParallelThreshold = 1 << 16;

    public static void Binary<T, TKernel>(ReadOnlySpan<T> x, Shape xShape, ReadOnlySpan<T> y, Shape yShape, Span<T> destination, Shape output)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TKernel : IBinaryKernel<T>
    {
        if (output.Length == 0) return;
        var layout = new BroadcastLayout(xShape, yShape, output);
        int rank = layout.Sizes.Length;
        if (rank == 0)
        {
            TKernel.Rows(x[..1], y[..1], destination[..1]);
            return;
        }
        int inner = layout.Sizes[rank - 1];
        int rows = output.Length / inner;
        bool xRow = layout.StridesX[rank - 1] != 0;
        bool yRow = layout.StridesY[rank - 1] != 0;
        if (rows == 1 || output.Length < ParallelThreshold)
        {
            RunRows<T, TKernel>(x, y, destination, layout, 0, rows, xRow, yRow);
            return;
        }
        // Spans cannot cross into the parallel lambda, so it gets their addresses, fixed for the loop's duration.
        unsafe
        {
            fixed (T* px = x, py = y, pd = destination)
            {
                nint ax = (nint)px, ay = (nint)py, ad = (nint)pd;
                int lx = x.Length, ly = y.Length, ld = destination.Length;
                Parallelism.For(rows, Math.Max(1, ParallelThreshold / 2 / inner), (start, end) =>
                    RunRows<T, TKernel>(new ReadOnlySpan<T>((T*)ax, lx), new ReadOnlySpan<T>((T*)ay, ly), new Span<T>((T*)ad, ld), layout, start, end, xRow, yRow));
            }
        }
    }

    private static void RunRows<T, TKernel>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d, BroadcastLayout layout, int rowStart, int rowEnd, bool xRow, bool yRow)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TKernel : IBinaryKernel<T>
    {
        int rank = layout.Sizes.Length;
        int inner = layout.Sizes[rank - 1];
        Span<int> index = stackalloc int[Math.Max(1, rank - 1)];
        // Decompose the first row number into the odometer over the outer axes.
        int r = rowStart, ox = 0, oy = 0;
        for (int a = rank - 2; a >= 0; a--)
        {
            index[a] = r % layout.Sizes[a];
            r /= layout.Sizes[a];
            ox += index[a] * layout.StridesX[a];
            oy += index[a] * layout.StridesY[a];
        }
        for (int row = rowStart; row < rowEnd; row++)
        {
            var dr = d.Slice(row * inner, inner);
            if (xRow && yRow) TKernel.Rows(x.Slice(ox, inner), y.Slice(oy, inner), dr);
            else if (xRow) TKernel.RowScalar(x.Slice(ox, inner), y[oy], dr);
            else if (yRow) TKernel.ScalarRow(x[ox], y.Slice(oy, inner), dr);
            else TKernel.ScalarScalar(x[ox], y[oy], dr);
            for (int a = rank - 2; a >= 0; a--)
            {
                ox += layout.StridesX[a];
                oy += layout.StridesY[a];
                if (++index[a] < layout.Sizes[a]) break;
                ox -= layout.StridesX[a] * layout.Sizes[a];
                oy -= layout.StridesY[a] * layout.Sizes[a];
                index[a] = 0;
            }
        }
    }
}
