using System.Numerics;
using Bilevel.Tensors.Internal;
using Bilevel.Tensors.Internal.Kernels;
using TP = System.Numerics.Tensors.TensorPrimitives;

namespace Bilevel.Tensors;

/// <summary>Multiplies a (co)tangent <paramref name="v"/> by the elementwise derivative of y = f(x).</summary>
internal delegate Tensor<T> ElementwiseChain<T>(Tensor<T> x, Tensor<T> y, Tensor<T> v) where T : unmanaged, IFloatingPointIeee754<T>;

public static partial class Ops
{
    // An elementwise map has a diagonal Jacobian, so one rule — multiply by f'(x) — is both its JVP and its VJP.
    private static Tensor<T> Map<T>(Tensor<T> x, SpanMap<T> kernel, ElementwiseChain<T> chain, string op)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var y = Tensor<T>.Uninitialized(x.Shape);
        Elementwise.Map(x.Buffer, y.Buffer, x.Length, kernel);
        return Derivatives.Attach(y, [x], t => chain(x, y, t[0]!), g => [chain(x, y, g)], op);
    }

    public static Tensor<T> Neg<T>(Tensor<T> x) where T : unmanaged, IFloatingPointIeee754<T>
        => Map(x, TP.Negate, (_, _, v) => Neg(v), "neg");

    public static Tensor<T> Exp<T>(Tensor<T> x) where T : unmanaged, IFloatingPointIeee754<T>
        => Map(x, TP.Exp, (_, y, v) => Mul(v, y), "exp");

    public static Tensor<T> Log<T>(Tensor<T> x) where T : unmanaged, IFloatingPointIeee754<T>
        => Map(x, TP.Log, (x, _, v) => Div(v, x), "log");

    public static Tensor<T> Sqrt<T>(Tensor<T> x) where T : unmanaged, IFloatingPointIeee754<T>
        => Map(x, TP.Sqrt, (_, y, v) => Div(Scale(v, Half<T>()), y), "sqrt");

    /// <summary>1/√x.</summary>
    public static Tensor<T> Rsqrt<T>(Tensor<T> x) where T : unmanaged, IFloatingPointIeee754<T>
        => Map(x, TP.ReciprocalSqrt, (_, y, v) => Mul(v, Scale(Mul(y, Mul(y, y)), -Half<T>())), "rsqrt");

    /// <summary>x^p for a constant exponent p.</summary>
    public static Tensor<T> Pow<T>(Tensor<T> x, T p) where T : unmanaged, IFloatingPointIeee754<T>
        => Map(x, (s, d) => TP.Pow(s, p, d), (x, _, v) => Mul(v, Scale(Pow(x, p - T.One), p)), "pow");

    public static Tensor<T> Tanh<T>(Tensor<T> x) where T : unmanaged, IFloatingPointIeee754<T>
        => Map(x, TP.Tanh, (_, y, v) => Mul(v, AddScalar(Neg(Mul(y, y)), T.One)), "tanh");

    public static Tensor<T> Sigmoid<T>(Tensor<T> x) where T : unmanaged, IFloatingPointIeee754<T>
        => Map(x, TP.Sigmoid, (_, y, v) => Mul(v, Mul(y, AddScalar(Neg(y), T.One))), "sigmoid");

    /// <summary>log(1 + eˣ), evaluated without overflow for large x and without cancellation for very negative x.</summary>
    public static Tensor<T> Softplus<T>(Tensor<T> x) where T : unmanaged, IFloatingPointIeee754<T>
        => Map(x, SoftplusKernel, (x, _, v) => Mul(v, Sigmoid(x)), "softplus");

    public static Tensor<T> Relu<T>(Tensor<T> x) where T : unmanaged, IFloatingPointIeee754<T>
        => Map(x, (s, d) => TP.Max(s, T.Zero, d), (x, _, v) => Gated(x, v, T.Zero, T.PositiveInfinity, lowInclusive: false), "relu");

    /// <summary>
    /// Clamps to [low, high]. The gradient is 1 on the closed interval, bounds included, so a parameter sitting
    /// exactly on a bound (e.g. a weight clipped to 1) can still move back inside.
    /// </summary>
    public static Tensor<T> Clamp<T>(Tensor<T> x, T low, T high) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (low > high)
            throw new ArgumentException($"clamp: low {low} is greater than high {high}.", nameof(low));
        return Map(x, (s, d) => { TP.Max(s, low, d); TP.Min(d, high, d); },
            (x, _, v) => Gated(x, v, low, high, lowInclusive: true), "clamp");
    }

    /// <summary>
    /// v where low ≤ x ≤ high (x a constant), else 0: relu's and clamp's derivative applied to a (co)tangent in one
    /// pass, v being x-shaped or stacked tangents [b, ..x]. Linear in v, so its tangent and cotangent rules are itself.
    /// </summary>
    private static Tensor<T> Gated<T>(Tensor<T> x, Tensor<T> v, T low, T high, bool lowInclusive) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var y = Tensor<T>.Uninitialized(v.Shape);
        Elementwise.Gate(x.Buffer, x.Length, v.Buffer, v.Length, y.Buffer, low, high, lowInclusive, highInclusive: true);
        return Derivatives.Attach(y, [v], t => Gated(x, t[0]!, low, high, lowInclusive), g => [Gated(x, g, low, high, lowInclusive)], "gate");
    }

    /// <summary>x·c for a constant c.</summary>
    public static Tensor<T> Scale<T>(Tensor<T> x, T c) where T : unmanaged, IFloatingPointIeee754<T>
        => Map(x, (s, d) => TP.Multiply(s, c, d), (_, _, v) => Scale(v, c), "scale");

    /// <summary>x + c for a constant c.</summary>
    public static Tensor<T> AddScalar<T>(Tensor<T> x, T c) where T : unmanaged, IFloatingPointIeee754<T>
        => Map(x, (s, d) => TP.Add(s, c, d), (_, _, v) => v, "add-scalar");

    /// <summary>
    /// 1 where low ≤ x ≤ high (the low end exclusive unless asked), else 0; a constant: its derivative is zero.
    /// </summary>
    public static Tensor<T> Indicator<T>(Tensor<T> x, T low, T high, bool lowInclusive = true) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var m = Tensor<T>.Full(x.Shape, T.One);
        Elementwise.Gate(x.Buffer, x.Length, m.Buffer, m.Length, m.Buffer, low, high, lowInclusive, highInclusive: true);
        return m;
    }

    private static void SoftplusKernel<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < x.Length; i++)
        {
            T v = x[i];
            // max(v, 0) + log(1 + e), e = e^{-|v|}. log(1 + e) as log(u)·e/(u − 1), u = 1 + e (Goldberg): the rounding
            // of 1 + e cancels, so the result keeps full relative precision for every e, in float as in double.
            T e = T.Exp(-T.Abs(v));
            T u = T.One + e;
            T log1p = u == T.One ? e : T.Log(u) * e / (u - T.One);
            d[i] = T.Max(v, T.Zero) + log1p;
        }
    }

    private static T Half<T>() where T : unmanaged, IFloatingPointIeee754<T> => T.One / (T.One + T.One);
}
