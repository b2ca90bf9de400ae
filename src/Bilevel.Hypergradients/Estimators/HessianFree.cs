using System.Numerics;
using Bilevel.Hypergradients.Internal;
using Bilevel.Tensors;

namespace Bilevel.Hypergradients.Estimators;

/// <summary>Hessian-free IFT: H⁻¹ ≈ αI, so q = α ∂f/∂θ and ∇h ≈ ∂f/∂φ − H_φθ q. One mixed product.</summary>
public sealed class HessianFree : IHypergradientEstimator
{
    public HessianFree(double alpha = 1.0)
    {
        if (!(alpha > 0) || !double.IsFinite(alpha)) throw new ArgumentException($"hf: alpha must be a positive number, got {alpha}.", nameof(alpha));
        Alpha = alpha;
    }

    public double Alpha { get; }

    public string Name => $"hf(alpha={Alpha})";

    public HypergradientEstimate<T> Estimate<T>(IBilevelProblem<T> problem, Tensor<T> phi, long outerStep) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var meter = new CostMeter();
        var setting = new ImplicitSetting<T>(problem, phi, outerStep);
        var gradient = setting.Hypergradient(Ops.Scale(setting.OuterThetaGradient, T.CreateChecked(Alpha)));
        meter.HvpCount = setting.HvpCount;
        meter.InnerPasses = 1;
        return new HypergradientEstimate<T>(gradient, setting.OuterLoss, meter.Report());
    }
}
