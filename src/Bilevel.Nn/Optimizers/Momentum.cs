using System.Numerics;
using Bilevel.Tensors;

namespace Bilevel.Nn.Optimizers;

/// <summary>Heavy ball: m_t = μ m_{t−1} + (G + λθ_{t−1}), θ_t = θ_{t−1} − η_t m_t, with m_0 = 0.</summary>
public sealed class Momentum : IInnerOptimizer
{
    public Momentum(double mu)
    {
        if (!(mu >= 0 && mu < 1))
            throw new ArgumentOutOfRangeException(nameof(mu), mu, "momentum: mu must be in [0, 1).");
        Mu = mu;
    }

    public double Mu { get; }

    public int SlotCount => 1;

    public bool IsAffineInGradient => true;

    public InnerState<T> Start<T>(Tensor<T> theta) where T : unmanaged, IFloatingPointIeee754<T>
        => new(theta, [Tensor<T>.Zeros(theta.Shape)]);

    public InnerState<T> Step<T>(InnerState<T> state, Tensor<T> gradient, StepSize<T> size, int step) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var g = GradientWithDecay.Of(state.Theta, gradient, size.WeightDecay);
        var m = Ops.AddScaled(g, Tensor<T>.Scalar(T.CreateChecked(Mu)), state.Slots[0]);
        return new(Update.Descend(state.Theta, size.LearningRate, m), [m]);
    }
}
