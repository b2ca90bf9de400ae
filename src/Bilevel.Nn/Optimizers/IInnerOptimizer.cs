using System.Numerics;
using Bilevel.Tensors;

namespace Bilevel.Nn.Optimizers;

/// <summary>
/// A differentiable inner update (θ, slots, ∇θ g) → (θ', slots'). Written with engine ops only, so the estimators
/// can push tangents through it (forward unrolling) and pull cotangents back (reverse unrolling).
/// </summary>
public interface IInnerOptimizer
{
    /// <summary>Number of state tensors besides θ (0 for SGD, 1 for momentum, 2 for Adam).</summary>
    int SlotCount { get; }

    /// <summary>
    /// Whether the update is affine in the gradient G (SGD, momentum): then its Jacobian with respect to G does not
    /// depend on G, and reverse unrolling can take G from its Hessian-vector product instead of computing it first.
    /// </summary>
    bool IsAffineInGradient { get; }

    InnerState<T> Start<T>(Tensor<T> theta) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <param name="step">1-based inner step number t (Adam's bias correction needs it).</param>
    InnerState<T> Step<T>(InnerState<T> state, Tensor<T> gradient, StepSize<T> size, int step) where T : unmanaged, IFloatingPointIeee754<T>;
}

internal static class GradientWithDecay
{
    public static Tensor<T> Of<T>(Tensor<T> theta, Tensor<T> gradient, Tensor<T>? weightDecay) where T : unmanaged, IFloatingPointIeee754<T>
        => weightDecay is null ? gradient : Update.PlusScaled(gradient, weightDecay, theta);
}

/// <summary>The arithmetic of an update, in one pass (Ops.AddScaled) where the factor is one number.</summary>
internal static class Update
{
    /// <summary>x + c·y, with c one number or a tensor of y's shape (per-parameter rates and decays).</summary>
    public static Tensor<T> PlusScaled<T>(Tensor<T> x, Tensor<T> c, Tensor<T> y) where T : unmanaged, IFloatingPointIeee754<T>
        => c.Length == 1 ? Ops.AddScaled(x, c, y) : Ops.Add(x, Ops.Mul(c, y));

    /// <summary>θ − η·d.</summary>
    public static Tensor<T> Descend<T>(Tensor<T> theta, Tensor<T> rate, Tensor<T> direction) where T : unmanaged, IFloatingPointIeee754<T>
        => rate.Length == 1 ? Ops.AddScaled(theta, Ops.Neg(rate), direction) : Ops.Sub(theta, Ops.Mul(rate, direction));
}
