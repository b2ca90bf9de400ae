using System.Numerics;
using Bilevel.Tensors;

namespace Bilevel.Nn;

/// <summary>One named block of a flat parameter vector.</summary>
public sealed record ParameterBlock(string Name, Shape Shape, int Offset)
{
    public int Length => Shape.Length;
}

/// <summary>
/// Where each weight lives in one flat parameter vector. Models are pure functions of that vector, so an estimator
/// sees the inner variables θ as a single tensor whatever the architecture.
/// </summary>
public sealed class ParameterLayout
{
    private readonly List<ParameterBlock> blocks = [];

    public IReadOnlyList<ParameterBlock> Blocks => blocks;

    /// <summary>Total number of parameters.</summary>
    public int Count { get; private set; }

    public ParameterBlock Add(string name, params int[] dims)
    {
        var block = new ParameterBlock(name, new Shape(dims), Count);
        blocks.Add(block);
        Count += block.Length;
        return block;
    }

    /// <summary>The block's parameters, shaped, as a differentiable slice of <paramref name="parameters"/>.</summary>
    public static Tensor<T> View<T>(Tensor<T> parameters, ParameterBlock block) where T : unmanaged, IFloatingPointIeee754<T>
        => Ops.Reshape(Ops.Slice(parameters, 0, block.Offset, block.Length), block.Shape);

    public void CheckVector<T>(Tensor<T> parameters, string model) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (parameters.Rank != 1 || parameters.Length != Count)
            throw new ArgumentException($"{model}: parameter vector has shape {parameters.Shape}, expected [{Count}].", nameof(parameters));
    }
}
