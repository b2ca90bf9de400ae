using System.Numerics;

namespace Bilevel.Tensors.Internal;

/// <summary>Maps the cotangent of an op's output to the cotangents of its inputs (null where zero).</summary>
internal delegate Tensor<T>?[] Pullback<T>(Tensor<T> outputCotangent) where T : unmanaged, IFloatingPointIeee754<T>;

/// <summary>One recorded op (or an input leaf) on a reverse-mode tape.</summary>
internal sealed class Node<T>(Tape<T> tape, Tensor<T>[] inputs, Pullback<T>? pullback)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public Tape<T> Tape { get; } = tape;

    public Tensor<T>[] Inputs { get; } = inputs;

    /// <summary>Null for a leaf (an input of the differentiated function).</summary>
    public Pullback<T>? Pullback { get; } = pullback;

    /// <summary>The accumulated cotangent of the tensor this node produced.</summary>
    public Tensor<T>? Cotangent { get; set; }
}
