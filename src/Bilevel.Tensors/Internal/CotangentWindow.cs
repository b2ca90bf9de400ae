using System.Numerics;

namespace Bilevel.Tensors.Internal;

/// <summary>
/// <paramref name="Length"/> elements from <paramref name="Offset"/> on of a cotangent buffer the tape owns, and the
/// same window of each of its <paramref name="Tangents"/> stacked tangents (which lie a buffer's length apart, so the
/// window is no tensor of its own): where a pullback adds an input's cotangent in place.
/// </summary>
internal readonly record struct CotangentWindow<T>(Tensor<T> Buffer, int Offset, int Length, int Tangents) where T : unmanaged, IFloatingPointIeee754<T>
{
    public Span<T> Values => Buffer.Span.Slice(Offset, Length);

    /// <summary>The window of stacked tangent <paramref name="i"/> (0 ≤ i &lt; <see cref="Tangents"/>).</summary>
    public Span<T> Tangent(int i)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)i, (uint)Tangents, nameof(i));
        return Buffer.Tangent!.Span.Slice(i * Buffer.Length + Offset, Length);
    }
}
