using TP = System.Numerics.Tensors.TensorPrimitives;

namespace Bilevel.Tensors.Internal.Kernels;

/// <summary>
/// The managed Cholesky factorisation and solves behind <see cref="Linalg"/> when OpenBLAS is missing: row-major,
/// lower triangle, every inner loop a contiguous dot product or axpy. Arguments are checked by the caller.
/// </summary>
internal static class ManagedCholesky
{
    /// <summary>Overwrites the lower triangle of A with L (column by column; row i of L is final once column i is); false at the first pivot that is not positive and finite.</summary>
    public static bool Factor(Span<double> a, int n)
    {
        for (int j = 0; j < n; j++)
        {
            var rowJ = a.Slice(j * n, j);
            double pivot = a[j * n + j] - TP.Dot<double>(rowJ, rowJ);
            // A NaN or infinite entry of the lower triangle reaches a pivot through the dot products.
            if (!(pivot > 0) || !double.IsFinite(pivot)) return false;
            double diagonal = Math.Sqrt(pivot);
            a[j * n + j] = diagonal;
            for (int i = j + 1; i < n; i++)
                a[i * n + j] = (a[i * n + j] - TP.Dot<double>(a.Slice(i * n, j), rowJ)) / diagonal;
        }
        return true;
    }

    /// <summary>B [n, m] ← (L Lᵀ)⁻¹ B: forward then back substitution, a whole row of B per step.</summary>
    public static void SolveColumns(ReadOnlySpan<double> l, int n, Span<double> b, int m)
    {
        for (int i = 0; i < n; i++)
        {
            var row = b.Slice(i * m, m);
            for (int k = 0; k < i; k++)
            {
                double lik = l[i * n + k];
                if (lik != 0) TP.MultiplyAdd<double>(b.Slice(k * m, m), -lik, row, row);
            }
            TP.Multiply<double>(row, 1 / l[i * n + i], row);
        }
        for (int i = n - 1; i >= 0; i--)
        {
            var row = b.Slice(i * m, m);
            for (int k = i + 1; k < n; k++)
            {
                double lki = l[k * n + i];
                if (lki != 0) TP.MultiplyAdd<double>(b.Slice(k * m, m), -lki, row, row);
            }
            TP.Multiply<double>(row, 1 / l[i * n + i], row);
        }
    }

    /// <summary>Right-hand sides solved together by <see cref="SolveRows"/>: each row of L is read once per block.</summary>
    private const int RowBlock = 16;

    /// <summary>
    /// B [m, n] ← B (L Lᵀ)⁻¹: each row x gets L y = x by dot products with the rows of L, then Lᵀ z = y by axpys with
    /// them; a block of rows goes through L together, so that L (too large for the cache) is streamed once per block
    /// rather than once per row.
    /// </summary>
    public static void SolveRows(ReadOnlySpan<double> l, int n, Span<double> b, int m)
    {
        for (int first = 0; first < m; first += RowBlock)
        {
            var block = b.Slice(first * n, Math.Min(RowBlock, m - first) * n);
            for (int j = 0; j < n; j++)
            {
                var lj = l.Slice(j * n, j);
                double diagonal = l[j * n + j];
                for (int x = 0; x < block.Length; x += n)
                    block[x + j] = (block[x + j] - TP.Dot<double>(lj, block.Slice(x, j))) / diagonal;
            }
            for (int j = n - 1; j >= 0; j--)
            {
                var lj = l.Slice(j * n, j);
                double diagonal = l[j * n + j];
                for (int x = 0; x < block.Length; x += n)
                {
                    double zj = block[x + j] /= diagonal;
                    var head = block.Slice(x, j);
                    TP.MultiplyAdd<double>(lj, -zj, head, head);
                }
            }
        }
    }
}
