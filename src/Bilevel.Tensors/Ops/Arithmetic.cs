using System.Numerics;
using Bilevel.Tensors.Internal;
using Bilevel.Tensors.Internal.Kernels;

namespace Bilevel.Tensors;

/// <summary>
/// The primitive ops. Each has its kernel, its tangent rule (forward mode, on stacked tangents [b, ..shape]) and its
/// pullback (reverse mode) side by side; both rules are written with these same ops, so Jvp(Grad(f)) works.
/// </summary>
public static partial class Ops
{
    private static Tensor<T> Broadcast<T, TKernel>(Tensor<T> a, Tensor<T> b, string op)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TKernel : IBinaryKernel<T>
    {
        var shape = Shape.Broadcast(a.Shape, b.Shape, op);
        var y = Tensor<T>.Uninitialized(shape);
        Broadcasting.Binary<T, TKernel>(a.Span, a.Shape, b.Span, b.Shape, y.Span, shape);
        return y;
    }

    public static Tensor<T> Add<T>(Tensor<T> a, Tensor<T> b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var y = Broadcast<T, AddKernel<T>>(a, b, "add");
        int r = y.Rank;
        return Derivatives.Attach(y, [a, b],
            t => TangentSum(y.Shape, t[0] is { } ta ? Derivatives.Lift(ta, r) : null, t[1] is { } tb ? Derivatives.Lift(tb, r) : null),
            g => [Derivatives.Needs(0) ? SumTo(g, a.Shape) : null, Derivatives.Needs(1) ? SumTo(g, b.Shape) : null], "add");
    }

    public static Tensor<T> Sub<T>(Tensor<T> a, Tensor<T> b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var y = Broadcast<T, SubtractKernel<T>>(a, b, "sub");
        int r = y.Rank;
        return Derivatives.Attach(y, [a, b],
            t => TangentSum(y.Shape, t[0] is { } ta ? Derivatives.Lift(ta, r) : null, t[1] is { } tb ? Neg(Derivatives.Lift(tb, r)) : null),
            g => [Derivatives.Needs(0) ? SumTo(g, a.Shape) : null, Derivatives.Needs(1) ? SumTo(Neg(g), b.Shape) : null], "sub");
    }

    public static Tensor<T> Mul<T>(Tensor<T> a, Tensor<T> b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var y = Broadcast<T, MultiplyKernel<T>>(a, b, "mul");
        int r = y.Rank;
        return Derivatives.Attach(y, [a, b],
            t => TangentSum(y.Shape, t[0] is { } ta ? Mul(Derivatives.Lift(ta, r), b) : null, t[1] is { } tb ? Mul(a, Derivatives.Lift(tb, r)) : null),
            g => [Derivatives.Needs(0) ? SumTo(Mul(g, b), a.Shape) : null, Derivatives.Needs(1) ? SumTo(Mul(g, a), b.Shape) : null], "mul");
    }

    public static Tensor<T> Div<T>(Tensor<T> a, Tensor<T> b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var y = Broadcast<T, DivideKernel<T>>(a, b, "div");
        int r = y.Rank;
        // d(a/b) = da/b − db·y/b
        return Derivatives.Attach(y, [a, b],
            t => TangentSum(y.Shape, t[0] is { } ta ? Div(Derivatives.Lift(ta, r), b) : null, t[1] is { } tb ? Neg(Mul(Derivatives.Lift(tb, r), Div(y, b))) : null),
            g => [Derivatives.Needs(0) ? SumTo(Div(g, b), a.Shape) : null, Derivatives.Needs(1) ? SumTo(Neg(Mul(g, Div(y, b))), b.Shape) : null], "div");
    }

    /// <summary>
    /// Elementwise choice: <paramref name="a"/> where <paramref name="condition"/> is non-zero, else <paramref name="b"/>.
    /// The unchosen operand does not reach the result, so a NaN there stays out of it (and of the gradient).
    /// </summary>
    public static Tensor<T> Where<T>(Tensor<T> condition, Tensor<T> a, Tensor<T> b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var shape = Shape.Broadcast(condition.Shape, Shape.Broadcast(a.Shape, b.Shape, "where"), "where");
        var y = Tensor<T>.Uninitialized(shape);
        Broadcasting.Binary<T, CopyFirstKernel<T>>(b.Span, b.Shape, b.Span, b.Shape, y.Span, shape);
        Broadcasting.Binary<T, MaskedCopyKernel<T>>(condition.Span, condition.Shape, a.Span, a.Shape, y.Span, shape);
        int r = shape.Rank;
        return Derivatives.Attach(y, [a, b],
            t => Where(condition, t[0] is { } ta ? Derivatives.Lift(ta, r) : Derivatives.ZeroTangent<T>(shape, t[1]!.Shape[0]),
                                  t[1] is { } tb ? Derivatives.Lift(tb, r) : Derivatives.ZeroTangent<T>(shape, t[0]!.Shape[0])),
            g =>
            {
                var zero = Tensor<T>.Zeros(Shape.Scalar);
                return [SumTo(Where(condition, g, zero), a.Shape), SumTo(Where(condition, zero, g), b.Shape)];
            }, "where");
    }

    /// <summary>Sums the non-null stacked tangents and broadcasts the sum to [b, ..shape].</summary>
    private static Tensor<T> TangentSum<T>(Shape shape, Tensor<T>? first, Tensor<T>? second) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var sum = first is null ? second! : second is null ? first : Add(first, second);
        var target = shape.Prepend(sum.Shape[0]);
        return sum.Shape == target ? sum : BroadcastTo(sum, target);
    }
}
