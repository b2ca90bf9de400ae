using System.Numerics;
using Bilevel.Hypergradients.Internal;
using Bilevel.Tensors;
using TP = System.Numerics.Tensors.TensorPrimitives;

namespace Bilevel.Hypergradients.Estimators;

/// <summary>
/// Neumann-series IFT: q = α Σ_{k=0..K} (I − αH)^k ∂f/∂θ, which converges to H⁻¹∂f/∂θ as K → ∞ when
/// 0 &lt; α &lt; 2/λ_max(H). K Hessian-vector products plus one mixed product.
/// </summary>
public sealed class Neumann : IHypergradientEstimator
{
    public Neumann(int terms, double alpha)
    {
        if (terms < 0) throw new ArgumentException($"neumann: K must be ≥ 0, got {terms}.", nameof(terms));
        if (!(alpha > 0) || !double.IsFinite(alpha)) throw new ArgumentException($"neumann: alpha must be a positive number, got {alpha}.", nameof(alpha));
        Terms = terms;
        Alpha = alpha;
    }

    public int Terms { get; }

    public double Alpha { get; }

    public string Name => $"neumann(K={Terms}, alpha={Alpha})";

    public HypergradientEstimate<T> Estimate<T>(IBilevelProblem<T> problem, Tensor<T> phi, long outerStep) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var meter = new CostMeter();
        var setting = new ImplicitSetting<T>(problem, phi, outerStep);
        var alpha = T.CreateChecked(Alpha);
        // The term and the partial sum are updated in place, and ∂f/∂θ, where both start, is not needed after, so
        // memory is these two vectors plus one Hessian-vector product whatever K is.
        var g = setting.OuterThetaGradient;
        using var term = Tensor<T>.FromSpan(g.Span, g.Shape);
        using var sum = Tensor<T>.FromSpan(g.Span, g.Shape);
        setting.ReleaseOuterThetaGradient();
        for (int k = 1; k <= Terms; k++)
        {
            using var scope = TensorScope.Begin();
            var hv = setting.InnerHessianTimes(term);
            TP.MultiplyAdd(hv.Span, -alpha, term.Span, term.Span); // term − α H term
            TP.Add(sum.Span, term.Span, sum.Span);
        }
        TP.Multiply(sum.Span, alpha, sum.Span);
        var gradient = setting.Hypergradient(sum);
        meter.HvpCount = setting.HvpCount;
        meter.InnerPasses = 1;
        return new HypergradientEstimate<T>(gradient, setting.OuterLoss, meter.Report());
    }
}
