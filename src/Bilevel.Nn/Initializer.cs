using System.Numerics;
using Bilevel.Tensors;

namespace Bilevel.Nn;

/// <summary>
/// Fills a flat parameter vector block by block: weights uniform in ±1/√fan_in (PyTorch's default for Linear and
/// Conv2d), everything else zero unless set. Deterministic in the seed.
/// </summary>
internal sealed class Initializer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private CounterRandom random;

    public Initializer(ParameterLayout layout, ulong seed)
    {
        random = new CounterRandom(seed, 0, "parameter-init");
        Result = Tensor<T>.Zeros(layout.Count);
    }

    public Tensor<T> Result { get; }

    public void Uniform(ParameterBlock block, int fanIn)
    {
        double bound = 1.0 / Math.Sqrt(fanIn);
        random.FillUniform(Result.Span.Slice(block.Offset, block.Length), -bound, bound);
    }

    public void Fill(ParameterBlock block, T value) => Result.Span.Slice(block.Offset, block.Length).Fill(value);
}
