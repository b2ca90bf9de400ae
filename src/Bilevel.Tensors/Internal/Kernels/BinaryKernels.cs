using System.Numerics;
using TP = System.Numerics.Tensors.TensorPrimitives;

namespace Bilevel.Tensors.Internal.Kernels;

/// <summary>An elementwise binary operation on rows: both full, or one side a broadcast scalar.</summary>
internal interface IBinaryKernel<T>
{
    static abstract void Rows(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> destination);

    static abstract void RowScalar(ReadOnlySpan<T> x, T y, Span<T> destination);

    static abstract void ScalarRow(T x, ReadOnlySpan<T> y, Span<T> destination);

    /// <summary>Neither operand varies along the run (both broadcast along the innermost axis).</summary>
    static abstract void ScalarScalar(T x, T y, Span<T> destination);
}

internal readonly struct AddKernel<T> : IBinaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static void Rows(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) => TP.Add(x, y, d);
    public static void RowScalar(ReadOnlySpan<T> x, T y, Span<T> d) => TP.Add(x, y, d);
    public static void ScalarRow(T x, ReadOnlySpan<T> y, Span<T> d) => TP.Add(y, x, d);
    public static void ScalarScalar(T x, T y, Span<T> d) => d.Fill(x + y);
}

internal readonly struct SubtractKernel<T> : IBinaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static void Rows(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) => TP.Subtract(x, y, d);
    public static void RowScalar(ReadOnlySpan<T> x, T y, Span<T> d) => TP.Subtract(x, y, d);
    public static void ScalarRow(T x, ReadOnlySpan<T> y, Span<T> d) => TP.Subtract(x, y, d);
    public static void ScalarScalar(T x, T y, Span<T> d) => d.Fill(x - y);
}

internal readonly struct MultiplyKernel<T> : IBinaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static void Rows(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) => TP.Multiply(x, y, d);
    public static void RowScalar(ReadOnlySpan<T> x, T y, Span<T> d) => TP.Multiply(x, y, d);
    public static void ScalarRow(T x, ReadOnlySpan<T> y, Span<T> d) => TP.Multiply(y, x, d);
    public static void ScalarScalar(T x, T y, Span<T> d) => d.Fill(x * y);
}

internal readonly struct DivideKernel<T> : IBinaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static void Rows(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) => TP.Divide(x, y, d);
    public static void RowScalar(ReadOnlySpan<T> x, T y, Span<T> d) => TP.Divide(x, y, d);
    public static void ScalarRow(T x, ReadOnlySpan<T> y, Span<T> d) => TP.Divide(x, y, d);
    public static void ScalarScalar(T x, T y, Span<T> d) => d.Fill(x / y);
}

/// <summary>Selects from the second operand where the mask (first operand) is non-zero; used by Where.</summary>
internal readonly struct MaskedCopyKernel<T> : IBinaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static void Rows(ReadOnlySpan<T> mask, ReadOnlySpan<T> y, Span<T> d)
    {
        for (int i = 0; i < d.Length; i++)
            if (mask[i] != T.Zero) d[i] = y[i];
    }

    public static void RowScalar(ReadOnlySpan<T> mask, T y, Span<T> d)
    {
        for (int i = 0; i < d.Length; i++)
            if (mask[i] != T.Zero) d[i] = y;
    }

    public static void ScalarRow(T mask, ReadOnlySpan<T> y, Span<T> d)
    {
        if (mask != T.Zero) y.CopyTo(d);
    }

    public static void ScalarScalar(T mask, T y, Span<T> d)
    {
        if (mask != T.Zero) d.Fill(y);
    }
}

/// <summary>Copies the first operand, broadcast; the second is ignored. Used by BroadcastTo.</summary>
internal readonly struct CopyFirstKernel<T> : IBinaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static void Rows(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) => x.CopyTo(d);
    public static void RowScalar(ReadOnlySpan<T> x, T y, Span<T> d) => x.CopyTo(d);
    public static void ScalarRow(T x, ReadOnlySpan<T> y, Span<T> d) => d.Fill(x);
    public static void ScalarScalar(T x, T y, Span<T> d) => d.Fill(x);
}
