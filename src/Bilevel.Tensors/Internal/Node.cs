using System.Numerics;

namespace Bilevel.Tensors.Internal;

/// <summary>Maps the cotangent of an op's output to the cotangents of its inputs (null where zero).</summary>
internal delegate Tensor<T>?[] Pullback<T>(Tensor<T> outputCotangent) where T : unmanaged, IFloatingPointIeee754<T>;

/// <summary>
/// Adds an op's output cotangent into the whole cotangent of its single input, in place (tangents included): the
/// pullback of ops that read a window of their input (a slice), which would otherwise build an input-sized,
/// mostly zero cotangent per window.
/// </summary>
internal delegate void Scatter<T>(Tensor<T> outputCotangent, Tensor<T> inputCotangent) where T : unmanaged, IFloatingPointIeee754<T>;

/// <summary>
/// The whole cotangent of an op's single input as a new tensor (tangents included), for an op recorded with a
/// <see cref="Scatter{T}"/> whose contribution covers every element of its input: used when the input has no
/// cotangent yet, so that the contribution is written instead of added onto a zero-filled buffer.
/// </summary>
internal delegate Tensor<T> FreshCotangent<T>(Tensor<T> outputCotangent) where T : unmanaged, IFloatingPointIeee754<T>;

/// <summary>One recorded op (or an input leaf) on a reverse-mode tape.</summary>
internal sealed class Node<T>(Tape<T> tape, Tensor<T>[] inputs, Pullback<T>? pullback, Scatter<T>? scatter = null, FreshCotangent<T>? fresh = null)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public Tape<T> Tape { get; } = tape;

    public Tensor<T>[] Inputs { get; } = inputs;

    /// <summary>Null for a leaf (an input of the differentiated function) and for an op recorded with a scatter.</summary>
    public Pullback<T>? Pullback { get; } = pullback;

    public Scatter<T>? Scatter { get; } = scatter;

    /// <summary>With <see cref="Scatter"/>: the input's cotangent made whole when it has none yet; null to scatter into zeros.</summary>
    public FreshCotangent<T>? Fresh { get; } = fresh;

    /// <summary>An input of the differentiated function (recorded ops always have at least one input).</summary>
    public bool IsLeaf => Inputs.Length == 0;

    /// <summary>The accumulated cotangent of the tensor this node produced.</summary>
    public Tensor<T>? Cotangent { get; set; }

    /// <summary>
    /// Whether <see cref="Cotangent"/> is a buffer the tape allocated for this node alone, so that further
    /// contributions may be added into it in place; otherwise it is a pullback's result, which may share its buffer.
    /// </summary>
    public bool OwnsCotangent { get; set; }

    /// <summary>
    /// Hands over the cotangent (null: none reached the node) and clears it with the ownership that goes with it, so
    /// that a later backward pass over the same tape (<see cref="Autodiff.VjpEach{T}"/>) adds into nothing it does
    /// not own: that pass's first contribution may be a pullback's result or an alias of a forward value.
    /// </summary>
    public Tensor<T>? TakeCotangent()
    {
        var g = Cotangent;
        Cotangent = null;
        OwnsCotangent = false;
        return g;
    }

    /// <summary>
    /// Set when this node's output is a contiguous window of its single input's elements starting at this offset
    /// (a reshape: 0; a slice along the leading axis), so that its cotangent is that window of the input's: a
    /// pullback producing it may add straight into the input's cotangent buffer (<see cref="Derivatives.Destination{T}"/>).
    /// </summary>
    public int? WindowOffset { get; set; }
}
