using System.Numerics;
using Bilevel.Tensors.Internal;
using Bilevel.Tensors.Internal.Kernels;

namespace Bilevel.Tensors;

public static partial class Ops
{
    /// <summary>
    /// op(a)·op(b) over the last two axes, op = transpose when asked, with the leading (batch) axes broadcast.
    /// Transposes are folded into the GEMM call instead of being copied. When b has no batch axes, a's batch axes
    /// are folded into its rows, so stacked tangents [b, m, k]·[k, n] cost one matrix-matrix product.
    /// </summary>
    public static Tensor<T> MatMul<T>(Tensor<T> a, Tensor<T> b, bool transposeA = false, bool transposeB = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (a.Rank < 2 || b.Rank < 2)
            throw new ArgumentException($"matmul: operands need at least 2 axes, got a {a.Shape} and b {b.Shape}.");
        int m = transposeA ? a.Shape[^1] : a.Shape[^2];
        int k = transposeA ? a.Shape[^2] : a.Shape[^1];
        int kb = transposeB ? b.Shape[^1] : b.Shape[^2];
        int n = transposeB ? b.Shape[^2] : b.Shape[^1];
        if (k != kb)
            throw new ArgumentException($"matmul: inner dimensions differ: a {a.Shape}{(transposeA ? "ᵀ" : "")} has {k}, b {b.Shape}{(transposeB ? "ᵀ" : "")} has {kb}.");
        var batchA = new Shape(a.Shape.Dims[..^2].ToArray());
        var batchB = new Shape(b.Shape.Dims[..^2].ToArray());
        if (!batchA.Equals(batchB) && !BatchesBroadcast(batchA, batchB))
            throw new ArgumentException($"matmul: batch axes of a {a.Shape} and b {b.Shape} cannot be broadcast together ({batchA} vs {batchB}).");
        if (!BatchesBroadcast(batchA, batchB))
            throw new ArgumentException($"matmul: batch axes of a {a.Shape} and b {b.Shape} cannot be broadcast together ({batchA} vs {batchB}).");
        var batch = Shape.Broadcast(batchA, batchB, "matmul");
        var dims = new int[batch.Rank + 2];
        batch.Dims.CopyTo(dims);
        dims[^2] = m;
        dims[^1] = n;
        var y = Tensor<T>.Uninitialized(new Shape(dims));
        // Outside a tangent rule the operands are values of the function or of its cotangents, the same on every
        // thread that evaluates it side by side with other tangents (see Gemm.Multiply).
        BatchedGemm.Run(a, b, y, transposeA, transposeB, m, n, k, batchA, batchB, batch, primal: AutodiffMode.PropagatingTangents);
        return Derivatives.Attach(y, [a, b],
            t => TangentSum(y.Shape,
                t[0] is { } ta ? MatMul(Derivatives.Lift(ta, y.Rank), b, transposeA, transposeB) : null,
                t[1] is { } tb ? MatMul(a, Derivatives.Lift(tb, y.Rank), transposeA, transposeB) : null),
            g => [Derivatives.Needs(0) ? SumTo(MatMulGradA(g, b, transposeA, transposeB), a.Shape) : null,
                  Derivatives.Needs(1) ? GradientOfB(g, a, b, transposeA, transposeB) : null],
            "matmul");
    }

    private static bool BatchesBroadcast(Shape x, Shape y)
    {
        for (int i = 1; i <= Math.Min(x.Rank, y.Rank); i++)
            if (x[^i] != y[^i] && x[^i] != 1 && y[^i] != 1) return false;
        return true;
    }

    // With C = op(A)·op(B) and cotangent G: Ā = G·op(B)ᵀ read back through op, B̄ = op(A)ᵀ·G likewise.
    private static Tensor<T> MatMulGradA<T>(Tensor<T> g, Tensor<T> b, bool transposeA, bool transposeB) where T : unmanaged, IFloatingPointIeee754<T>
        => transposeA ? MatMul(b, g, transposeB, true) : MatMul(g, b, false, !transposeB);

    private static Tensor<T> MatMulGradB<T>(Tensor<T> g, Tensor<T> a, bool transposeA, bool transposeB) where T : unmanaged, IFloatingPointIeee754<T>
        => transposeB ? MatMul(g, a, true, transposeA) : MatMul(a, g, !transposeA, false);

    /// <summary>
    /// B̄, or null after adding it in place where the tape offers a destination (<see cref="Derivatives.Destination{T}"/>):
    /// a layer's weight, a window of the flat parameter vector, gets its gradient written into the vector's
    /// cotangent by the GEMM itself (β = 1), values and each tangent, instead of through a weight-sized temporary.
    /// </summary>
    private static Tensor<T>? GradientOfB<T>(Tensor<T> g, Tensor<T> a, Tensor<T> b, bool transposeA, bool transposeB) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int tangents = Math.Max(g.TangentCount, a.TangentCount);
        if (a.Rank != 2 || b.Rank != 2 || Derivatives.Destination<T>(1, tangents) is not { } destination)
            return SumTo(MatMulGradB(g, a, transposeA, transposeB), b.Shape);
        if (Derivatives.ValuesWanted<T>(1)) AddGradientOfB(g.Span, a.Span, destination.Values, g.Shape, transposeA, transposeB, primal: true);
        // The product rule, tangent by tangent: (Ġ with A) + (G with Ȧ).
        Gemm.MultiplyEach(tangents, i =>
        {
            if (g.Tangent is { } tg) AddGradientOfB(tg.Span.Slice(i * g.Length, g.Length), a.Span, destination.Tangent(i), g.Shape, transposeA, transposeB, primal: false);
            if (a.Tangent is { } ta) AddGradientOfB(g.Span, ta.Span.Slice(i * a.Length, a.Length), destination.Tangent(i), g.Shape, transposeA, transposeB, primal: false);
        });
        return null;
    }

    /// <summary>
    /// destination += B̄ for C = op(A)·op(B) with cotangent G [m, n] (MatMulGradB, accumulated by the GEMM);
    /// <paramref name="primal"/> when G and A are values, not tangents (see <see cref="Gemm.Multiply{T}"/>).
    /// </summary>
    private static void AddGradientOfB<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> a, Span<T> destination, Shape gShape, bool transposeA, bool transposeB, bool primal)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int m = gShape[0], n = gShape[1], k = a.Length / m;
        int lda = transposeA ? m : k;
        if (transposeB) Gemm.Multiply(true, transposeA, n, k, m, T.One, g, n, a, lda, T.One, destination, k, primal);
        else Gemm.Multiply(!transposeA, false, k, n, m, T.One, a, lda, g, n, T.One, destination, n, primal);
    }
}
