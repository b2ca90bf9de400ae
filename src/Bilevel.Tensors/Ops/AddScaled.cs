using System.Numerics;
using Bilevel.Tensors.Internal;
using Bilevel.Tensors.Internal.Kernels;

namespace Bilevel.Tensors;

public static partial class Ops
{
    /// <summary>
    /// x + α·y for a one-element α and y of x's shape, in one pass. Every inner optimizer step is of this form
    /// (θ − η·G, μ·m + G, G + λθ); as Mul then Add it made a parameter-sized temporary per step, and under forward
    /// mode with b stacked tangents two [b, M] ones (the peak of (FG)²U's unrolled step).
    /// </summary>
    public static Tensor<T> AddScaled<T>(Tensor<T> x, Tensor<T> alpha, Tensor<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (alpha.Length != 1)
            throw new ArgumentException($"add-scaled: α must have one element, got shape {alpha.Shape}.", nameof(alpha));
        if (x.Shape != y.Shape)
            throw new ArgumentException($"add-scaled: x {x.Shape} and y {y.Shape} must have one shape.", nameof(y));
        var result = Tensor<T>.Uninitialized(x.Shape);
        Elementwise.MultiplyAdd(y.Buffer, alpha.Span[0], x.Buffer, result.Buffer, x.Length);
        return Derivatives.Attach(result, [x, alpha, y],
            t => AddScaledTangent(x.Shape, alpha, y, t[0], t[1], t[2]),
            g => [Derivatives.Needs(0) ? g : null,
                  Derivatives.Needs(1) ? Reshape(MatMul(Reshape(g, new Shape(1, g.Length)), Reshape(y, new Shape(y.Length, 1))), alpha.Shape) : null,
                  Derivatives.Needs(2) ? Mul(Reshape(alpha, Shape.Scalar), g) : null],
            "add-scaled");
    }

    /// <summary>ẋ + α·ẏ + α̇·y on stacked tangents, the first two terms in one pass.</summary>
    private static Tensor<T> AddScaledTangent<T>(Shape shape, Tensor<T> alpha, Tensor<T> y, Tensor<T>? tx, Tensor<T>? talpha, Tensor<T>? ty)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Tensor<T>? sum = ty is null ? tx : tx is null ? Mul(Reshape(alpha, Shape.Scalar), ty) : AddScaled(tx, alpha, ty);
        if (talpha is null) return sum!;
        int count = talpha.Shape[0];
        var scaled = Reshape(MatMul(Reshape(talpha, new Shape(count, 1)), Reshape(y, new Shape(1, y.Length))), shape.Prepend(count));
        return sum is null ? scaled : Add(sum, scaled);
    }
}
