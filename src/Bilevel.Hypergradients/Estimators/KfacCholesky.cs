using TP = System.Numerics.Tensors.TensorPrimitives;

namespace Bilevel.Hypergradients.Estimators;

/// <summary>
/// The Cholesky factor L (row-major, lower) of a damped symmetric positive definite matrix M + dI, in double, and
/// solves with it. KFAC's blocks are at most a few thousand wide, so the O(n³/3) factorisation is done once per
/// factor refresh and the O(n²m) solves once per hypergradient.
/// </summary>
internal sealed class KfacCholesky
{
    private readonly double[] l;

    private KfacCholesky(int size, double[] l)
    {
        Size = size;
        this.l = l;
    }

    public int Size { get; }

    /// <summary>Factors M + <paramref name="damping"/>·I; <paramref name="what"/> names the matrix in the error.</summary>
    public static KfacCholesky Factor(ReadOnlySpan<double> matrix, int n, double damping, string what)
    {
        var l = new double[n * n];
        for (int j = 0; j < n; j++)
        {
            var rowJ = l.AsSpan(j * n, j);
            double pivot = matrix[j * n + j] + damping - TP.Dot<double>(rowJ, rowJ);
            if (!(pivot > 0) || !double.IsFinite(pivot))
                throw new InvalidOperationException(
                    $"kfac: {what} plus its damping {damping:G3} is not positive definite in double precision (pivot {pivot:G3} at {j} of {n}); increase the damping λ.");
            double diagonal = Math.Sqrt(pivot);
            l[j * n + j] = diagonal;
            for (int i = j + 1; i < n; i++)
                l[i * n + j] = (matrix[i * n + j] - TP.Dot<double>(l.AsSpan(i * n, j), rowJ)) / diagonal;
        }
        return new KfacCholesky(n, l);
    }

    /// <summary>Overwrites B [n, m] (row-major) with (L Lᵀ)⁻¹ B.</summary>
    public void Solve(Span<double> b, int m)
    {
        int n = Size;
        if (b.Length != n * m) throw new ArgumentException($"kfac: right-hand side of {b.Length} entries for a {n}×{n} system with {m} columns.", nameof(b));
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
}
