using TP = System.Numerics.Tensors.TensorPrimitives;

namespace Bilevel.Hypergradients.Estimators;

/// <summary>How KFAC adds its damping λ' = λ + ρ to a layer's block A ⊗ G before inverting it.</summary>
public enum KfacDamping
{
    /// <summary>
    /// (A + π√λ' I) ⊗ (G + √λ'/π I) with π = √((tr A / dim A) / (tr G / dim G)), inverted by two Cholesky factors.
    /// Cheap (n³/3 per factor per refresh) but it adds the cross terms √λ'(π I ⊗ G + A/π ⊗ I) to λ'I.
    /// </summary>
    PiHeuristic,

    /// <summary>(A + √λ' I) ⊗ (G + √λ' I), by Cholesky: π fixed at 1.</summary>
    Even,

    /// <summary>
    /// (A ⊗ G + λ' I)⁻¹ exactly, from the eigendecompositions of A and G (Householder + QL, about 20× a Cholesky factor): the
    /// damping, and the inner loss's L2 term, enter as they are, without cross terms.
    /// </summary>
    Exact,
}

/// <summary>The inverse of one layer's damped block, applied to the layer matrix V [d_out, d_in(+1)] in place.</summary>
internal abstract class KfacInverse
{
    public static KfacInverse Create(KfacLayerFactors f, double damping, KfacDamping mode)
    {
        if (mode == KfacDamping.Exact)
            return new EigenInverse(KfacEigen.Decompose(f.A, f.InputSize, $"factor A of layer {f.Layer}"),
                                    KfacEigen.Decompose(f.G, f.OutputSize, $"factor G of layer {f.Layer}"), damping);
        var (da, dg) = Kfac.Split(f, damping, mode == KfacDamping.PiHeuristic);
        return new CholeskyInverse(KfacCholesky.Factor(f.A, f.InputSize, da, $"factor A of layer {f.Layer}"),
                                   KfacCholesky.Factor(f.G, f.OutputSize, dg, $"factor G of layer {f.Layer}"));
    }

    /// <summary>Overwrites V [rows = d_out, cols = d_in(+1)] with the damped block's inverse applied to it.</summary>
    public abstract void Apply(double[] v);

    protected static double[] Transpose(double[] m, int rows, int cols)
    {
        var t = new double[m.Length];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                t[j * rows + i] = m[i * cols + j];
        return t;
    }

    /// <summary>q = (G + d_G I)⁻¹ V (A + d_A I)⁻¹.</summary>
    private sealed class CholeskyInverse(KfacCholesky a, KfacCholesky g) : KfacInverse
    {
        public override void Apply(double[] v)
        {
            int rows = g.Size, cols = a.Size;
            g.Solve(v, cols);
            var t = Transpose(v, rows, cols);
            a.Solve(t, rows);
            Transpose(t, cols, rows).CopyTo(v, 0);
        }
    }

    /// <summary>
    /// With A = Q_A diag(α) Q_Aᵀ and G = Q_G diag(γ) Q_Gᵀ, the block maps V to G V A, so
    /// q = Q_G [(Q_Gᵀ V Q_A) ./ (γ_i α_j + λ')] Q_Aᵀ.
    /// </summary>
    private sealed class EigenInverse(KfacEigen a, KfacEigen g, double damping) : KfacInverse
    {
        public override void Apply(double[] v)
        {
            int rows = g.Size, cols = a.Size;
            var wg = g.Vectors;   // rows: eigenvectors of G (Q_Gᵀ)
            var wa = a.Vectors;   // rows: eigenvectors of A (Q_Aᵀ)
            // X = Q_Gᵀ V: row r = Σ_o Q_G[o, r] V[o, :].
            var x = new double[rows * cols];
            for (int r = 0; r < rows; r++)
            {
                var xr = x.AsSpan(r * cols, cols);
                for (int o = 0; o < rows; o++)
                    TP.MultiplyAdd<double>(v.AsSpan(o * cols, cols), wg[r * rows + o], xr, xr);
            }
            // E = X Q_A, divided by the eigenvalues of the damped Kronecker product.
            var e = new double[rows * cols];
            for (int r = 0; r < rows; r++)
            {
                double gamma = Math.Max(g.Values[r], 0);
                var xr = x.AsSpan(r * cols, cols);
                for (int c = 0; c < cols; c++)
                    e[r * cols + c] = TP.Dot<double>(xr, wa.AsSpan(c * cols, cols)) / (gamma * Math.Max(a.Values[c], 0) + damping);
            }
            // Y = Q_G E: row o = Σ_r Q_G[o, r] E[r, :]; then q = Y Q_Aᵀ: row o = Σ_c Y[o, c] Q_A[:, c]ᵀ.
            var y = new double[rows * cols];
            for (int r = 0; r < rows; r++)
            {
                var er = e.AsSpan(r * cols, cols);
                for (int o = 0; o < rows; o++)
                {
                    var yo = y.AsSpan(o * cols, cols);
                    TP.MultiplyAdd<double>(er, wg[r * rows + o], yo, yo);
                }
            }
            Array.Clear(v);
            for (int o = 0; o < rows; o++)
            {
                var qo = v.AsSpan(o * cols, cols);
                for (int c = 0; c < cols; c++)
                {
                    double yoc = y[o * cols + c];
                    if (yoc != 0) TP.MultiplyAdd<double>(wa.AsSpan(c * cols, cols), yoc, qo, qo);
                }
            }
        }
    }
}
