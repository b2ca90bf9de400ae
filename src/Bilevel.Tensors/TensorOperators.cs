using System.Numerics;

namespace Bilevel.Tensors;

public sealed partial class Tensor<T>
{
    public static Tensor<T> operator +(Tensor<T> a, Tensor<T> b) => Ops.Add(a, b);

    public static Tensor<T> operator -(Tensor<T> a, Tensor<T> b) => Ops.Sub(a, b);

    public static Tensor<T> operator *(Tensor<T> a, Tensor<T> b) => Ops.Mul(a, b);

    public static Tensor<T> operator /(Tensor<T> a, Tensor<T> b) => Ops.Div(a, b);

    public static Tensor<T> operator -(Tensor<T> a) => Ops.Neg(a);

    public static Tensor<T> operator *(Tensor<T> a, T c) => Ops.Scale(a, c);

    public static Tensor<T> operator *(T c, Tensor<T> a) => Ops.Scale(a, c);

    public static Tensor<T> operator +(Tensor<T> a, T c) => Ops.AddScalar(a, c);

    public static Tensor<T> operator -(Tensor<T> a, T c) => Ops.AddScalar(a, -c);
}
