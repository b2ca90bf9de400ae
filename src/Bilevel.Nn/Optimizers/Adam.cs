using System.Numerics;
using Bilevel.Tensors;

namespace Bilevel.Nn.Optimizers;

/// <summary>
/// Adam with bias correction: m_t = β₁m + (1−β₁)G̃, v_t = β₂v + (1−β₂)G̃², θ_t = θ − η_t m̂/(√v̂ + ε),
/// G̃ = G + λθ (L2 decay, not AdamW). Differentiable everywhere but at v = 0, where ε keeps it finite.
/// </summary>
public sealed class Adam : IInnerOptimizer
{
    public Adam(double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8)
    {
        if (!(beta1 >= 0 && beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(beta1), beta1, "adam: beta1 must be in [0, 1).");
        if (!(beta2 >= 0 && beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(beta2), beta2, "adam: beta2 must be in [0, 1).");
        if (!(epsilon > 0)) throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "adam: epsilon must be positive.");
        (Beta1, Beta2, Epsilon) = (beta1, beta2, epsilon);
    }

    public double Beta1 { get; }

    public double Beta2 { get; }

    public double Epsilon { get; }

    public int SlotCount => 2;

    public bool IsAffineInGradient => false;

    public InnerState<T> Start<T>(Tensor<T> theta) where T : unmanaged, IFloatingPointIeee754<T>
        => new(theta, [Tensor<T>.Zeros(theta.Shape), Tensor<T>.Zeros(theta.Shape)]);

    public InnerState<T> Step<T>(InnerState<T> state, Tensor<T> gradient, StepSize<T> size, int step) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        var g = GradientWithDecay.Of(state.Theta, gradient, size.WeightDecay);
        var m = Ops.Add(Ops.Scale(state.Slots[0], T.CreateChecked(Beta1)), Ops.Scale(g, T.CreateChecked(1 - Beta1)));
        var v = Ops.Add(Ops.Scale(state.Slots[1], T.CreateChecked(Beta2)), Ops.Scale(Ops.Mul(g, g), T.CreateChecked(1 - Beta2)));
        var mHat = Ops.Scale(m, T.CreateChecked(1 / (1 - Math.Pow(Beta1, step))));
        var vHat = Ops.Scale(v, T.CreateChecked(1 / (1 - Math.Pow(Beta2, step))));
        var direction = Ops.Div(mHat, Ops.AddScalar(Ops.Sqrt(vHat), T.CreateChecked(Epsilon)));
        return new(Ops.Sub(state.Theta, Ops.Mul(size.LearningRate, direction)), [m, v]);
    }
}
