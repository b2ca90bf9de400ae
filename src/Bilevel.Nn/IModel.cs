using System.Numerics;
using Bilevel.Tensors;

namespace Bilevel.Nn;

/// <summary>A network as a pure function of one flat parameter vector.</summary>
public interface IModel
{
    ParameterLayout Layout { get; }

    /// <summary>Logits [N, classes] for inputs <paramref name="x"/>.</summary>
    Tensor<T> Forward<T>(Tensor<T> parameters, Tensor<T> x) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>Fresh parameters, deterministic in <paramref name="seed"/>.</summary>
    Tensor<T> Initialize<T>(ulong seed) where T : unmanaged, IFloatingPointIeee754<T>;
}
