using Bilevel.Tensors;
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
    /// <summary>
    /// The inverse of <paramref name="f"/>'s block with the damping λ' split by <paramref name="mode"/>. A Cholesky
    /// inverse of the same sizes in <paramref name="reusable"/> is refactored in its own buffers (its old factors are
    /// lost, also when this throws) instead of allocating two new n² arrays at every refresh.
    /// </summary>
    public static KfacInverse Create(KfacLayerFactors f, double damping, KfacDamping mode, KfacInverse? reusable = null)
    {
        if (mode == KfacDamping.Exact)
            return new EigenInverse(KfacEigen.Decompose(f.A, f.InputSize, $"factor A of layer {f.Layer}"),
                                    KfacEigen.Decompose(f.G, f.OutputSize, $"factor G of layer {f.Layer}"), damping);
        var (da, dg) = Kfac.Split(f, damping, mode == KfacDamping.PiHeuristic);
        var inverse = reusable is CholeskyInverse c && c.Fits(f) ? c : new CholeskyInverse(f.InputSize, f.OutputSize);
        inverse.Factor(f, da, dg);
        return inverse;
    }

    /// <summary>Overwrites V [rows = d_out, cols = d_in(+1)] with the damped block's inverse applied to it.</summary>
    public abstract void Apply(Span<double> v);

    /// <summary>q = (G + d_G I)⁻¹ V (A + d_A I)⁻¹ from the Cholesky factors of both damped factors.</summary>
    private sealed class CholeskyInverse(int inputSize, int outputSize) : KfacInverse
    {
        private readonly double[] a = new double[inputSize * inputSize];
        private readonly double[] g = new double[outputSize * outputSize];

        public bool Fits(KfacLayerFactors f) => f.InputSize == inputSize && f.OutputSize == outputSize;

        public void Factor(KfacLayerFactors f, double dampingA, double dampingG)
        {
            Factor(f.A, a, inputSize, dampingA, $"factor A of layer {f.Layer}");
            Factor(f.G, g, outputSize, dampingG, $"factor G of layer {f.Layer}");
        }

        // The columns of V against G, then its rows against A: Linalg takes both layouts without a transpose.
        public override void Apply(Span<double> v)
        {
            Linalg.CholeskySolveInPlace(g, outputSize, v, inputSize);
            Linalg.CholeskySolveRowsInPlace(a, inputSize, v, outputSize);
        }

        private static void Factor(double[] matrix, double[] l, int n, double damping, string what)
        {
            matrix.CopyTo(l, 0);
            for (int i = 0; i < n; i++) l[i * n + i] += damping;
            if (!Linalg.CholeskyFactorInPlace(l, n))
                throw new InvalidOperationException(
                    $"kfac: {what} plus its damping {damping:G3} is not positive definite in double precision; increase the damping λ.");
        }
    }

    /// <summary>
    /// With A = Q_A diag(α) Q_Aᵀ and G = Q_G diag(γ) Q_Gᵀ, the block maps V to G V A, so
    /// q = Q_G [(Q_Gᵀ V Q_A) ./ (γ_i α_j + λ')] Q_Aᵀ.
    /// </summary>
    private sealed class EigenInverse(KfacEigen a, KfacEigen g, double damping) : KfacInverse
    {
        public override void Apply(Span<double> v)
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
                    TP.MultiplyAdd<double>(v.Slice(o * cols, cols), wg[r * rows + o], xr, xr);
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
            v.Clear();
            for (int o = 0; o < rows; o++)
            {
                var qo = v.Slice(o * cols, cols);
                for (int c = 0; c < cols; c++)
                {
                    double yoc = y[o * cols + c];
                    if (yoc != 0) TP.MultiplyAdd<double>(wa.AsSpan(c * cols, cols), yoc, qo, qo);
                }
            }
        }
    }
}
