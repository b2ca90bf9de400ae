using TP = System.Numerics.Tensors.TensorPrimitives;

namespace Bilevel.Hypergradients.Estimators;

/// <summary>
/// The eigendecomposition M = Q diag(λ) Qᵀ of a symmetric matrix in double: Householder reduction to tridiagonal
/// form, then the implicit QL algorithm (EISPACK's tred2 and tql2, as in JAMA). The matrix is held transposed, so
/// that every inner loop runs along contiguous memory. Used by KFAC's exact damping.
/// </summary>
internal sealed class KfacEigen
{
    private KfacEigen(double[] values, double[] vectors)
    {
        Values = values;
        Vectors = vectors;
    }

    /// <summary>The eigenvalues, in no particular order.</summary>
    public double[] Values { get; }

    /// <summary>The eigenvectors as rows, row-major [n, n]: row r belongs to <see cref="Values"/>[r] (this is Qᵀ).</summary>
    public double[] Vectors { get; }

    public int Size => Values.Length;

    /// <summary>Decomposes the symmetric row-major [n, n] <paramref name="matrix"/>; <paramref name="what"/> names it in errors.</summary>
    public static KfacEigen Decompose(ReadOnlySpan<double> matrix, int n, string what)
    {
        if (matrix.Length != n * n) throw new ArgumentException($"kfac: {what} has {matrix.Length} entries, not {n}×{n}.", nameof(matrix));
        foreach (var x in matrix)
            if (!double.IsFinite(x)) throw new InvalidOperationException($"kfac: {what} has a non-finite entry; the curvature statistics diverged.");
        // vt[b·n + a] is V[a][b] of JAMA's code; M is symmetric, so its transpose is itself.
        var vt = matrix.ToArray();
        var d = new double[n];
        var e = new double[n];
        if (n == 1)
        {
            d[0] = vt[0];
            vt[0] = 1;
            return new KfacEigen(d, vt);
        }
        Tridiagonalize(vt, d, e, n);
        DiagonalizeTridiagonal(vt, d, e, n, what);
        return new KfacEigen(d, vt);
    }

    private static void Tridiagonalize(double[] vt, double[] d, double[] e, int n)
    {
        for (int j = 0; j < n; j++) d[j] = vt[j * n + n - 1];
        for (int i = n - 1; i > 0; i--)
        {
            double scale = 0, h = 0;
            for (int k = 0; k < i; k++) scale += Math.Abs(d[k]);
            if (scale == 0)
            {
                e[i] = d[i - 1];
                for (int j = 0; j < i; j++)
                {
                    d[j] = vt[j * n + i - 1];
                    vt[j * n + i] = 0;
                    vt[i * n + j] = 0;
                }
            }
            else
            {
                for (int k = 0; k < i; k++)
                {
                    d[k] /= scale;
                    h += d[k] * d[k];
                }
                double f = d[i - 1];
                double g = Math.Sqrt(h);
                if (f > 0) g = -g;
                e[i] = scale * g;
                h -= f * g;
                d[i - 1] = f - g;
                for (int j = 0; j < i; j++) e[j] = 0;
                for (int j = 0; j < i; j++)
                {
                    f = d[j];
                    vt[i * n + j] = f;
                    var column = vt.AsSpan(j * n, n);
                    int from = j + 1, count = i - from;
                    g = e[j] + column[j] * f;
                    if (count > 0)
                    {
                        var part = column.Slice(from, count);
                        g += TP.Dot<double>(part, d.AsSpan(from, count));
                        var ek = e.AsSpan(from, count);
                        TP.MultiplyAdd<double>(part, f, ek, ek);
                    }
                    e[j] = g;
                }
                f = 0;
                for (int j = 0; j < i; j++)
                {
                    e[j] /= h;
                    f += e[j] * d[j];
                }
                double hh = f / (h + h);
                for (int j = 0; j < i; j++) e[j] -= hh * d[j];
                for (int j = 0; j < i; j++)
                {
                    f = d[j];
                    g = e[j];
                    var column = vt.AsSpan(j * n, n);
                    var part = column.Slice(j, i - j);
                    TP.MultiplyAdd<double>(e.AsSpan(j, i - j), -f, part, part);
                    TP.MultiplyAdd<double>(d.AsSpan(j, i - j), -g, part, part);
                    d[j] = column[i - 1];
                    column[i] = 0;
                }
            }
            d[i] = h;
        }
        // Accumulate the transformations.
        for (int i = 0; i < n - 1; i++)
        {
            vt[i * n + n - 1] = vt[i * n + i];
            vt[i * n + i] = 1;
            double h = d[i + 1];
            var next = vt.AsSpan((i + 1) * n, n);
            if (h != 0)
            {
                var scaled = d.AsSpan(0, i + 1);
                TP.Divide<double>(next.Slice(0, i + 1), h, scaled);
                for (int j = 0; j <= i; j++)
                {
                    var column = vt.AsSpan(j * n, i + 1);
                    double g = TP.Dot<double>(next.Slice(0, i + 1), column);
                    TP.MultiplyAdd<double>(scaled, -g, column, column);
                }
            }
            for (int k = 0; k <= i; k++) next[k] = 0;
        }
        for (int j = 0; j < n; j++)
        {
            d[j] = vt[j * n + n - 1];
            vt[j * n + n - 1] = 0;
        }
        vt[(n - 1) * n + n - 1] = 1;
        e[0] = 0;
    }

    private static void DiagonalizeTridiagonal(double[] vt, double[] d, double[] e, int n, string what)
    {
        for (int i = 1; i < n; i++) e[i - 1] = e[i];
        e[n - 1] = 0;
        double f = 0, tst1 = 0;
        var saved = new double[n];
        const double eps = 2.220446049250313e-16;
        for (int l = 0; l < n; l++)
        {
            tst1 = Math.Max(tst1, Math.Abs(d[l]) + Math.Abs(e[l]));
            int m = l;
            while (m < n - 1 && Math.Abs(e[m]) > eps * tst1) m++;
            if (m > l)
            {
                int iterations = 0;
                do
                {
                    if (++iterations > 60)
                        throw new InvalidOperationException($"kfac: the eigendecomposition of {what} did not converge.");
                    double g = d[l];
                    double p = (d[l + 1] - g) / (2 * e[l]);
                    double r = double.Hypot(p, 1);
                    if (p < 0) r = -r;
                    d[l] = e[l] / (p + r);
                    d[l + 1] = e[l] * (p + r);
                    double dl1 = d[l + 1];
                    double h = g - d[l];
                    for (int i = l + 2; i < n; i++) d[i] -= h;
                    f += h;
                    p = d[m];
                    double c = 1, c2 = 1, c3 = 1, s = 0, s2 = 0;
                    double el1 = e[l + 1];
                    for (int i = m - 1; i >= l; i--)
                    {
                        c3 = c2;
                        c2 = c;
                        s2 = s;
                        g = c * e[i];
                        h = c * p;
                        r = double.Hypot(p, e[i]);
                        e[i + 1] = s * r;
                        s = e[i] / r;
                        c = p / r;
                        p = c * d[i] - s * g;
                        d[i + 1] = h + s * (c * g + s * d[i]);
                        // Rotate eigenvector rows i and i + 1.
                        var rowI = vt.AsSpan(i * n, n);
                        var rowNext = vt.AsSpan((i + 1) * n, n);
                        rowNext.CopyTo(saved);
                        TP.Multiply<double>(rowNext, c, rowNext);
                        TP.MultiplyAdd<double>(rowI, s, rowNext, rowNext);
                        TP.Multiply<double>(rowI, c, rowI);
                        TP.MultiplyAdd<double>(saved, -s, rowI, rowI);
                    }
                    p = -s * s2 * c3 * el1 * e[l] / dl1;
                    e[l] = s * p;
                    d[l] = c * p;
                }
                while (Math.Abs(e[l]) > eps * tst1);
            }
            d[l] += f;
            e[l] = 0;
        }
    }
}
