using System.Numerics;
using Bilevel.Tensors;

namespace Bilevel.Nn.Optimizers;

/// <summary>θ_t = θ_{t−1} − η_t (G + λθ_{t−1}).</summary>
public sealed class Sgd : IInnerOptimizer
{
    public int SlotCount => 0;

    public bool IsAffineInGradient => true;

    public InnerState<T> Start<T>(Tensor<T> theta) where T : unmanaged, IFloatingPointIeee754<T> => new(theta, []);

    public InnerState<T> Step<T>(InnerState<T> state, Tensor<T> gradient, StepSize<T> size, int step) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var g = GradientWithDecay.Of(state.Theta, gradient, size.WeightDecay);
        return new(Update.Descend(state.Theta, size.LearningRate, g), []);
    }
}
