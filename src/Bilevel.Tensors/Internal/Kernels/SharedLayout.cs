namespace Bilevel.Tensors.Internal.Kernels;

/// <summary>
/// How a shared product's row-major output is cut into parts (<see cref="PrimalSharing"/>): <see cref="Parts"/>
/// blocks of rows or, when <see cref="SplitsColumns"/>, of columns, near-equal, their boundaries on multiples of
/// <see cref="Alignment"/>.
/// </summary>
/// <param name="Rows">The output's rows.</param>
/// <param name="RowBytes">The bytes of each row that belong to the output.</param>
/// <param name="StrideBytes">The bytes from one row to the next.</param>
/// <param name="ElementBytes">The bytes of one element.</param>
internal readonly record struct SharedLayout(int Rows, int RowBytes, long StrideBytes, int ElementBytes, bool SplitsColumns, int Parts)
{
    /// <summary>The rows, or the columns, that the parts divide.</summary>
    public int Extent => SplitsColumns ? RowBytes / ElementBytes : Rows;

    /// <summary>The rows (or columns) [start, end) of part <paramref name="part"/>.</summary>
    public (int Start, int End) Range(int part) => (Boundary(part), Boundary(part + 1));

    /// <summary>Copies part <paramref name="part"/> from the output at <paramref name="from"/> to the one at <paramref name="to"/>.</summary>
    public unsafe void Copy(int part, byte* from, byte* to)
    {
        var (start, end) = Range(part);
        if (SplitsColumns)
        {
            long offset = (long)start * ElementBytes, bytes = (long)(end - start) * ElementBytes;
            for (long row = 0; row < Rows; row++)
                Buffer.MemoryCopy(from + row * StrideBytes + offset, to + row * StrideBytes + offset, bytes, bytes);
        }
        else
        {
            for (long row = start; row < end; row++)
                Buffer.MemoryCopy(from + row * StrideBytes, to + row * StrideBytes, RowBytes, RowBytes);
        }
    }

    /// <summary>
    /// Parts start on multiples of 16 rows or columns. Measured on OpenBLAS 0.3.21: float64 products cut there equal
    /// the whole product to the last bit with both its Haswell and SkylakeX kernels, where cuts elsewhere (at 25 of
    /// 100 rows, at 20 of 160 columns) differ in the last bits; float32 products with the Haswell kernels differ
    /// wherever they are cut.
    /// </summary>
    public const int Alignment = 16;

    /// <summary>Where part <paramref name="part"/> starts: Extent·part/Parts to the nearest multiple of <see cref="Alignment"/>; the last part ends at Extent.</summary>
    private int Boundary(int part)
    {
        if (part >= Parts) return Extent;
        long even = (long)Extent * part / Parts;
        return (int)Math.Min(Extent, (even + Alignment / 2) / Alignment * Alignment);
    }
}
