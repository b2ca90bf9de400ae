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

    /// <summary>B [m, n] ← B (L Lᵀ)⁻¹: each row x solved on its own, L y = x by dot products with rows of L, Lᵀ z = y by axpys with them.</summary>
    public static void SolveRows(ReadOnlySpan<double> l, int n, Span<double> b, int m)
    {
        for (int r = 0; r < m; r++)
        {
            var x = b.Slice(r * n, n);
            for (int j = 0; j < n; j++)
                x[j] = (x[j] - TP.Dot<double>(l.Slice(j * n, j), x[..j])) / l[j * n + j];
            for (int j = n - 1; j >= 0; j--)
            {
                x[j] /= l[j * n + j];
                var head = x[..j];
                TP.MultiplyAdd<double>(l.Slice(j * n, j), -x[j], head, head);
            }
        }
    }
}
