using System.Numerics;
using Bilevel.Tensors;

namespace Bilevel.Hypergradients;

/// <summary>An estimate of ∇h(φ) at outer step k. One interface for every estimator.</summary>
public interface IHypergradientEstimator
{
    /// <summary>The registry name ("rgu", "fg2u", …) with its options, for logs and records.</summary>
    string Name { get; }

    HypergradientEstimate<T> Estimate<T>(IBilevelProblem<T> problem, Tensor<T> phi, long outerStep) where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>What an estimate cost: wall time, peak tensor memory over the call, Hessian-vector products, inner passes.</summary>
public sealed record CostReport(TimeSpan Elapsed, long PeakBytes, int HvpCount, int InnerPasses);

/// <param name="Gradient">The hypergradient estimate, shape [N].</param>
/// <param name="OuterLoss">h(φ) = f(θ_T, φ) at this φ (for IFT estimators, at the inner solution they used).</param>
/// <param name="DirectionVariance">For randomized estimators: the trace of the covariance of one direction's estimate d_i·v_i.</param>
/// <param name="Residual">For CG: the relative residual ‖(H + λI)q − ∂f/∂θ‖ / ‖∂f/∂θ‖ at the end.</param>
public sealed record HypergradientEstimate<T>(Tensor<T> Gradient, double OuterLoss, CostReport Cost, double? DirectionVariance = null, double? Residual = null)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public bool IsFinite
    {
        get
        {
            foreach (var g in Gradient.Span) if (!T.IsFinite(g)) return false;
            return double.IsFinite(OuterLoss);
        }
    }
}
