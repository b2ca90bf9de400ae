using System.Numerics;
using Bilevel.Tensors;

namespace Bilevel.Nn.Optimizers;

/// <summary>
/// The state s_t of an inner optimisation: parameters θ and the optimizer's slots (momentum buffer, Adam moments).
/// Inner dynamics are maps s_t = Φ_t(s_{t−1}, φ) on this state; estimators differentiate through all of it.
/// </summary>
public sealed record InnerState<T>(Tensor<T> Theta, IReadOnlyList<Tensor<T>> Slots) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>θ followed by the slots, the order in which estimators treat the state as one tuple.</summary>
    public Tensor<T>[] ToArray() => [Theta, .. Slots];

    public static InnerState<T> FromArray(Tensor<T>[] parts) => new(parts[0], parts[1..]);

    /// <summary>Keeps θ and the slots (with their tangents) in the enclosing scope.</summary>
    public InnerState<T> KeptBy(TensorScope scope) => new(scope.Keep(Theta), Slots.Select(scope.Keep).ToArray());

    public void Dispose()
    {
        Theta.Dispose();
        foreach (var s in Slots) s.Dispose();
    }
}
