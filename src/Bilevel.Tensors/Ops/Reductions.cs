using System.Numerics;
using Bilevel.Tensors.Internal;
using Bilevel.Tensors.Internal.Kernels;

namespace Bilevel.Tensors;

public static partial class Ops
{
    /// <summary>Sum over <paramref name="axes"/> (all axes when empty).</summary>
    public static Tensor<T> Sum<T>(Tensor<T> x, int[]? axes = null, bool keepDims = false) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (reduced, kept, result) = ReducedShapes(x.Shape, axes, keepDims, "sum");
        var y = Tensor<T>.Uninitialized(result);
        Reduction.Reduce<T, SumReduce<T>>(x.Span, x.Shape, reduced, y.Span);
        var shifted = ShiftAxes(reduced);
        return Derivatives.Attach(y, [x],
            t => shifted.Length == 0 ? t[0]! : Sum(t[0]!, shifted, keepDims),
            g => [BroadcastTo(Reshape(g, kept), x.Shape)], "sum");
    }

    /// <summary>
    /// Maximum over <paramref name="axes"/>. Ties share the derivative equally, so the rule is the derivative of a
    /// symmetric function; NaN propagates.
    /// </summary>
    public static Tensor<T> Max<T>(Tensor<T> x, int[]? axes = null, bool keepDims = false) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (reduced, kept, result) = ReducedShapes(x.Shape, axes, keepDims, "max");
        var y = Tensor<T>.Uninitialized(result);
        Reduction.Reduce<T, MaxReduce<T>>(x.Span, x.Shape, reduced, y.Span);
        Tensor<T> weights;
        using (AutodiffMode.PlainArithmetic())
        {
            var isMax = EqualMask(x, BroadcastTo(Reshape(y, kept), x.Shape));
            weights = Div(isMax, Sum(isMax, axes, keepDims: true));
        }
        var shifted = ShiftAxes(reduced);
        return Derivatives.Attach(y, [x],
            t => shifted.Length == 0 ? Mul(t[0]!, weights) : Sum(Mul(t[0]!, weights), shifted, keepDims),
            g => [Mul(BroadcastTo(Reshape(g, kept), x.Shape), weights)], "max");
    }

    public static Tensor<T> Mean<T>(Tensor<T> x, int[]? axes = null, bool keepDims = false) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (reduced, _, _) = ReducedShapes(x.Shape, axes, keepDims, "mean");
        int count = 1;
        for (int i = 0; i < x.Rank; i++) if (reduced[i]) count *= x.Shape[i];
        return Scale(Sum(x, axes, keepDims), T.One / T.CreateChecked(count));
    }

    /// <summary>log Σ exp(x) over <paramref name="axes"/>, shifted by the maximum so that it never overflows.</summary>
    public static Tensor<T> LogSumExp<T>(Tensor<T> x, int[]? axes = null, bool keepDims = false) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // The shift is a constant: any value gives the same result, the maximum just keeps exp from overflowing.
        Tensor<T> shift;
        using (AutodiffMode.PlainArithmetic()) shift = Max(x, axes, keepDims: true);
        // An all −∞ (or ±∞) slice would make x − shift NaN; shifting by 0 there gives the right limit.
        foreach (ref var s in shift.Span) if (!T.IsFinite(s)) s = T.Zero;
        var lse = Add(Log(Sum(Exp(Sub(x, shift)), axes, keepDims: true)), shift);
        return keepDims ? lse : Reshape(lse, ReducedShapes(x.Shape, axes, false, "logsumexp").Result);
    }

    /// <summary>Σ x² over every element.</summary>
    /// <remarks>
    /// A primitive rather than Sum(Mul(x, x)): weight decay takes it of the whole parameter vector every inner step,
    /// and the composite would allocate four parameter-sized temporaries (x², the broadcast cotangent, and one
    /// product per Mul operand) where this needs one.
    /// </remarks>
    public static Tensor<T> SquaredNorm<T>(Tensor<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var y = Tensor<T>.Scalar(System.Numerics.Tensors.TensorPrimitives.Dot<T>(x.Span, x.Span));
        var two = T.CreateChecked(2);
        return Derivatives.Attach(y, x,
            t =>
            {
                // 2⟨x, tᵢ⟩ for each stacked tangent tᵢ: one matrix-vector product.
                int count = t[0]!.Shape[0];
                var products = MatMul(Reshape(t[0]!, new Shape(count, x.Length)), Reshape(x, new Shape(x.Length, 1)));
                return Scale(Reshape(products, new Shape(count)), two);
            },
            (g, full) => SquaredNormCotangent(x, g, full, two, accumulate: true), "squared-norm",
            g =>
            {
                // The first contribution to x's cotangent (weight decay's, in an inner step's backward pass): written
                // whole, where scattering it would first zero x-sized buffers for every tangent.
                var full = Tensor<T>.Uninitialized(x.Shape);
                if (Math.Max(g.TangentCount, x.TangentCount) is > 0 and var count) full.Tangent = Tensor<T>.Uninitialized(x.Shape.Prepend(count));
                SquaredNormCotangent(x, g, full, two, accumulate: false);
                return full;
            });
    }

    /// <summary>
    /// full (+)= 2g·x, and for each stacked tangent full.Tangentᵢ (+)= 2(ġᵢ·x + g·ẋᵢ): the pullback of ‖x‖² added in
    /// place (or, unless <paramref name="accumulate"/>, written), because its cotangent (2g·x) is as large as x — a
    /// parameter-sized temporary, and with tangents two more, at the start of every backward pass through a
    /// weight-decay term.
    /// </summary>
    private static void SquaredNormCotangent<T>(Tensor<T> x, Tensor<T> g, Tensor<T> full, T two, bool accumulate) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T scale = two * g.Span[0];
        if (accumulate) Elementwise.MultiplyAdd(x.Buffer, scale, full.Buffer, full.Buffer, x.Length);
        else Elementwise.Multiply(x.Buffer, scale, full.Buffer, x.Length);
        int count = Math.Max(g.TangentCount, x.TangentCount);
        if (count == 0) return;
        CotangentBuffers<T>.EnsureTangent(full, count);
        int n = x.Length;
        var target = full.Tangent!.Buffer;
        var xs = x.Buffer;
        var tg = g.Tangent;
        var tx = x.Tangent;
        // One pass over all the tangents: each alone (a parameter vector) is below the size worth splitting.
        Elementwise.BlockRuns(count, n, (i, within, run) =>
        {
            var t = target.AsSpan(i * n + within, run);
            bool written = !accumulate;
            if (tg is not null) AddOrWrite(xs.AsSpan(within, run), two * tg.Span[i], t, ref written);
            if (tx is not null) AddOrWrite(tx.Buffer.AsSpan(i * n + within, run), scale, t, ref written);
        });
    }

    /// <summary>t += v·c, or t = v·c while <paramref name="overwrite"/> (then cleared): a first term writes, later ones add.</summary>
    private static void AddOrWrite<T>(ReadOnlySpan<T> v, T c, Span<T> t, ref bool overwrite) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (overwrite) System.Numerics.Tensors.TensorPrimitives.Multiply(v, c, t);
        else System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(v, c, t, t);
        overwrite = false;
    }

    private static Tensor<T> EqualMask<T>(Tensor<T> x, Tensor<T> reference) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var m = Tensor<T>.Uninitialized(x.Shape);
        var xs = x.Span;
        var rs = reference.Span;
        var ms = m.Span;
        for (int i = 0; i < xs.Length; i++) ms[i] = xs[i] == rs[i] || (T.IsNaN(xs[i]) && T.IsNaN(rs[i])) ? T.One : T.Zero;
        return m;
    }

    private static (bool[] Reduced, Shape Kept, Shape Result) ReducedShapes(Shape shape, int[]? axes, bool keepDims, string op)
    {
        var reduced = new bool[shape.Rank];
        if (axes is null || axes.Length == 0) Array.Fill(reduced, true);
        else
            foreach (int a in axes)
            {
                int axis = shape.Axis(a, op);
                if (reduced[axis]) throw new ArgumentException($"{op}: axis {a} is listed twice for shape {shape}.", nameof(axes));
                reduced[axis] = true;
            }
        var kept = new int[shape.Rank];
        var result = new List<int>();
        for (int i = 0; i < shape.Rank; i++)
        {
            kept[i] = reduced[i] ? 1 : shape[i];
            if (!reduced[i]) result.Add(shape[i]);
        }
        return (reduced, new Shape(kept), keepDims ? new Shape(kept) : new Shape([.. result]));
    }

    /// <summary>The reduced axes renumbered for stacked tangents, whose axis 0 is the tangent index.</summary>
    private static int[] ShiftAxes(bool[] reduced)
    {
        var axes = new List<int>();
        for (int i = 0; i < reduced.Length; i++) if (reduced[i]) axes.Add(i + 1);
        return [.. axes];
    }
}
