using System.Numerics;
using Bilevel.Tensors.Internal.Kernels;

namespace Bilevel.Tensors.Internal;

/// <summary>
/// The in-place arithmetic of cotangent accumulation on the tape. A node whose output is used n times receives n
/// contributions; adding them into one buffer the tape owns costs one allocation instead of n − 1 (and, for the
/// blocks of a flat parameter vector, one instead of two per block). Tangents (forward-over-reverse) are added
/// alongside the values.
/// </summary>
internal static class CotangentBuffers<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>A fresh buffer holding <paramref name="existing"/> (zeros when null), with room for <paramref name="tangents"/> tangents.</summary>
    public static Tensor<T> Own(Tensor<T>? existing, Shape shape, int tangents)
    {
        var owned = existing is null ? Tensor<T>.Zeros(shape) : Tensor<T>.FromSpan(existing.Span, shape);
        if (existing?.Tangent is { } t) owned.Tangent = Tensor<T>.FromSpan(t.Span, t.Shape);
        EnsureTangent(owned, tangents);
        return owned;
    }

    /// <summary>Gives <paramref name="owned"/> zero tangents when it has none and <paramref name="tangents"/> &gt; 0.</summary>
    public static void EnsureTangent(Tensor<T> owned, int tangents)
    {
        if (owned.Tangent is null && tangents > 0) owned.Tangent = Tensor<T>.Zeros(owned.Shape.Prepend(tangents));
    }

    /// <summary>owned += g, values and tangents.</summary>
    public static void AddInto(Tensor<T> owned, Tensor<T> g)
    {
        Elementwise.Add(owned.Buffer, g.Buffer, owned.Buffer, owned.Length);
        if (g.Tangent is not { } tg) return;
        EnsureTangent(owned, tg.Shape[0]);
        Elementwise.Add(owned.Tangent!.Buffer, tg.Buffer, owned.Tangent.Buffer, tg.Length);
    }
}
