using System.Numerics;
using Bilevel.Tensors;

namespace Bilevel.Nn;

/// <summary>
/// A model whose Linear and Conv layers can be observed by KFAC: a forward pass given a <see cref="KfacCapture{T}"/>
/// hands the capture each such layer's input and pre-activation output (in <see cref="KfacLayers"/> order), and
/// continues with what the capture returns (the output plus the layer's probe, when probes are set).
/// </summary>
public interface IKfacModel : IModel
{
    /// <summary>The Kronecker-factored layers, in the order the forward pass reaches them.</summary>
    IReadOnlyList<KfacLayer> KfacLayers { get; }

    /// <summary>
    /// The logits of <see cref="IModel.Forward{T}(Tensor{T}, Tensor{T})"/>; with a capture, each layer of
    /// <see cref="KfacLayers"/> goes through <see cref="KfacCapture{T}.Tap"/>. A null capture is the plain forward pass.
    /// </summary>
    Tensor<T> Forward<T>(Tensor<T> parameters, Tensor<T> x, KfacCapture<T>? capture) where T : unmanaged, IFloatingPointIeee754<T>;
}
