namespace Bilevel.Tensors.Internal.Kernels;

/// <summary>
/// How C is split among threads: a grid of <see cref="RowBlocks"/>×<see cref="ColumnBlocks"/> rectangles, each
/// computed entirely by one thread. It depends only on the shape and the thread budget, never on timing, so every
/// element of C is always produced by the same sequence of operations.
/// </summary>
internal readonly record struct ManagedGemmPartition(int RowBlocks, int ColumnBlocks, int RowChunk, int ColumnChunk)
{
    /// <summary>
    /// Multiply-adds below which another thread costs more to wake than it saves (about 5 µs of one core's work).
    /// </summary>
    private const long MinWorkPerThread = 1 << 18;

    /// <summary>
    /// Packing an element costs about as much as this many multiply-adds: one scalar load and store against
    /// vector FMAs doing 16 or 32 of them per cycle.
    /// </summary>
    private const long PackCost = 16;

    public int Count => RowBlocks * ColumnBlocks;

    /// <summary>Rows [start, end) and columns [start, end) of block <paramref name="index"/>; possibly empty.</summary>
    public (int Row0, int Row1, int Col0, int Col1) Block(int index, int m, int n)
    {
        int row0 = Math.Min(m, index / ColumnBlocks * RowChunk), col0 = Math.Min(n, index % ColumnBlocks * ColumnChunk);
        return (row0, Math.Min(m, row0 + RowChunk), col0, Math.Min(n, col0 + ColumnChunk));
    }

    /// <summary>
    /// Picks the grid minimising the largest block's cost (multiply-adds plus packing), with block edges on
    /// microkernel tile boundaries so only C's own edges produce partial tiles.
    /// </summary>
    public static ManagedGemmPartition Choose(int m, int n, int k, int threads, int mr, int nr, int nc)
    {
        long work = (long)m * n * k;
        int budget = (int)Math.Clamp(work / MinWorkPerThread, 1, threads);

        var best = new ManagedGemmPartition(1, 1, m, n);
        long bestCost = long.MaxValue;
        for (int parts = budget; parts >= 1; parts--)
        {
            for (int rowBlocks = parts; rowBlocks >= 1; rowBlocks--)
            {
                if (parts % rowBlocks != 0)
                    continue;
                int columnBlocks = parts / rowBlocks;
                int rows = RoundUp(CeilDiv(m, rowBlocks), mr), cols = RoundUp(CeilDiv(n, columnBlocks), nr);
                long cost = (long)rows * cols * k + PackCost * k * (cols + (long)rows * CeilDiv(cols, nc));
                if (cost < bestCost)
                {
                    bestCost = cost;
                    best = new ManagedGemmPartition(rowBlocks, columnBlocks, rows, cols);
                }
            }
        }
        return best;
    }

    public static int CeilDiv(int x, int y) => (x + y - 1) / y;

    public static int RoundUp(int x, int multiple) => CeilDiv(x, multiple) * multiple;
}
