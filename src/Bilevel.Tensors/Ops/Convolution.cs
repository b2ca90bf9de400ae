using System.Numerics;
using Bilevel.Tensors.Internal;
using Bilevel.Tensors.Internal.Kernels;

namespace Bilevel.Tensors;

/// <summary>How a convolution pads its input.</summary>
public enum Padding
{
    /// <summary>No padding: the kernel stays inside the input; output size ⌊(size − kernel) / stride⌋ + 1.</summary>
    Valid,

    /// <summary>
    /// Zeros around the input so that the output has ⌈size / stride⌉ elements (the input size at stride 1); the
    /// padding is split evenly, an odd one going to the bottom/right (TensorFlow's and PyTorch's 'same').
    /// </summary>
    Same,
}

public static partial class Ops
{
    /// <summary>
    /// 2-d cross-correlation (a deep-learning convolution): x [N, C, H, W] with w [O, C, kh, kw], plus an optional
    /// bias [O]; result [N, O, Ho, Wo]. Bilinear in (x, w); its adjoints are <see cref="Conv2dInputGrad{T}(Tensor{T}, Tensor{T}, Shape, int, Padding)"/>
    /// and <see cref="Conv2dWeightGrad{T}(Tensor{T}, Tensor{T}, Shape, int, Padding)"/>.
    /// </summary>
    public static Tensor<T> Conv2d<T>(Tensor<T> x, Tensor<T> w, Tensor<T>? bias = null, int stride = 1, Padding padding = Padding.Same)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Conv2dPrimitive(x, w, bias, stride, PaddingCode(padding));

    /// <summary>As <see cref="Conv2d{T}(Tensor{T}, Tensor{T}, Tensor{T}?, int, Padding)"/> with <paramref name="padding"/> zeros on every side.</summary>
    public static Tensor<T> Conv2d<T>(Tensor<T> x, Tensor<T> w, Tensor<T>? bias, int stride, int padding)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Conv2dPrimitive(x, w, bias, stride, ExplicitPadding(padding, "conv2d"));

    /// <summary>
    /// The transposed convolution: the gradient with respect to x [N, C, H, W] = <paramref name="inputShape"/> of
    /// ⟨Conv2d(x, w), g⟩, for g [N, O, Ho, Wo]. Bilinear in (g, w).
    /// </summary>
    public static Tensor<T> Conv2dInputGrad<T>(Tensor<T> g, Tensor<T> w, Shape inputShape, int stride = 1, Padding padding = Padding.Same)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Conv2dInputGradPrimitive(g, w, inputShape, stride, PaddingCode(padding));

    /// <inheritdoc cref="Conv2dInputGrad{T}(Tensor{T}, Tensor{T}, Shape, int, Padding)"/>
    public static Tensor<T> Conv2dInputGrad<T>(Tensor<T> g, Tensor<T> w, Shape inputShape, int stride, int padding)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Conv2dInputGradPrimitive(g, w, inputShape, stride, ExplicitPadding(padding, "conv2d-input-grad"));

    /// <summary>
    /// The gradient with respect to w [O, C, kh, kw] = <paramref name="weightShape"/> of ⟨Conv2d(x, w), g⟩, for
    /// x [N, C, H, W] and g [N, O, Ho, Wo]: the correlation of x with g, summed over the batch. Bilinear in (x, g).
    /// </summary>
    public static Tensor<T> Conv2dWeightGrad<T>(Tensor<T> x, Tensor<T> g, Shape weightShape, int stride = 1, Padding padding = Padding.Same)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Conv2dWeightGradPrimitive(x, g, weightShape, stride, PaddingCode(padding));

    /// <inheritdoc cref="Conv2dWeightGrad{T}(Tensor{T}, Tensor{T}, Shape, int, Padding)"/>
    public static Tensor<T> Conv2dWeightGrad<T>(Tensor<T> x, Tensor<T> g, Shape weightShape, int stride, int padding)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Conv2dWeightGradPrimitive(x, g, weightShape, stride, ExplicitPadding(padding, "conv2d-weight-grad"));

    // The three ops are bilinear, so each tangent rule is the op applied to (tangent, other) plus (this, tangent).
    // Stacked tangents of the image-like operand fold into the batch axis N (a free reshape); those of the other
    // operand fold into a channel axis (a weight's O, or C after moving b next to it), so that b directions are one
    // convolution with b times the channels, not b convolutions. Each pullback is made of the other two ops.

    private static Tensor<T> Conv2dPrimitive<T>(Tensor<T> x, Tensor<T> w, Tensor<T>? bias, int stride, int padding)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        const string op = "conv2d";
        var g = Geometry(op, x.Shape, "x", w.Shape, "w", stride, padding);
        if (bias is not null && (bias.Rank != 1 || bias.Shape[0] != g.O))
            throw new ArgumentException($"{op}: bias must have shape [{g.O}] (one per output channel of w {w.Shape}), got {bias.Shape}.", nameof(bias));
        var y = Tensor<T>.Uninitialized(new Shape(g.N, g.O, g.Ho, g.Wo));
        Conv2dKernels.Forward(x.Buffer, w.Buffer, bias?.Buffer, y.Buffer, g);
        Tensor<T>[] inputs = bias is null ? [x, w] : [x, w, bias];
        return Derivatives.Attach(y, inputs,
            t =>
            {
                Tensor<T>? sum = null;
                if (t[0] is { } tx)
                {
                    int b = tx.Shape[0];
                    var z = Conv2dPrimitive(Reshape(tx, [b * g.N, g.C, g.H, g.W]), w, null, stride, padding);
                    sum = Reshape(z, [b, g.N, g.O, g.Ho, g.Wo]);
                }
                var tb = t.Length > 2 ? t[2] : null;
                if (t[1] is { } tw)
                {
                    // Direction d of w's tangent becomes output channels [d·O, (d+1)·O) of one wider kernel, and b's
                    // tangent that kernel's bias.
                    int b = tw.Shape[0];
                    var z = Conv2dPrimitive(x, Reshape(tw, [b * g.O, g.C, g.Kh, g.Kw]), tb is null ? null : Reshape(tb, b * g.O), stride, padding);
                    sum = AddTangentSwapped(sum, Reshape(z, [g.N, b, g.O, g.Ho, g.Wo]));
                }
                else if (tb is not null)
                {
                    int b = tb.Shape[0];
                    var lifted = Reshape(tb, [b, 1, g.O, 1, 1]);
                    sum = sum is null ? BroadcastTo(lifted, new Shape(b, g.N, g.O, g.Ho, g.Wo)) : Add(sum, lifted);
                }
                return sum!;
            },
            gy =>
            {
                var cotangents = new Tensor<T>?[inputs.Length];
                if (Derivatives.Needs(0)) cotangents[0] = Conv2dInputGradPrimitive(gy, w, x.Shape, stride, padding, Derivatives.ValuesWanted<T>(0));
                if (Derivatives.Needs(1)) cotangents[1] = Conv2dWeightGradPrimitive(x, gy, w.Shape, stride, padding, Derivatives.ValuesWanted<T>(1));
                if (bias is not null && Derivatives.Needs(2)) cotangents[2] = Sum(gy, [0, 2, 3]);
                return cotangents;
            }, op);
    }

    /// <param name="values">False to leave the result's values zero and compute only its tangents (see <see cref="Derivatives.ValuesWanted{T}"/>).</param>
    private static Tensor<T> Conv2dInputGradPrimitive<T>(Tensor<T> gy, Tensor<T> w, Shape inputShape, int stride, int padding, bool values = true)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        const string op = "conv2d-input-grad";
        var g = Geometry(op, inputShape, "inputShape", w.Shape, "w", stride, padding);
        CheckOutputGradient(op, "g", gy.Shape, g, $"inputShape {inputShape} and w {w.Shape}");
        Tensor<T> y;
        if (values)
        {
            y = Tensor<T>.Uninitialized(inputShape);
            Conv2dKernels.InputGrad(gy.Buffer, w.Buffer, y.Buffer, g);
        }
        else y = Tensor<T>.Zeros(inputShape);
        return Derivatives.Attach(y, [gy, w],
            t =>
            {
                Tensor<T>? sum = null;
                if (t[0] is { } tg)
                {
                    int b = tg.Shape[0];
                    var z = Conv2dInputGradPrimitive(Reshape(tg, [b * g.N, g.O, g.Ho, g.Wo]), w, new Shape(b * g.N, g.C, g.H, g.W), stride, padding);
                    sum = Reshape(z, [b, g.N, g.C, g.H, g.W]);
                }
                if (t[1] is { } tw)
                {
                    // Direction d of w's tangent becomes input channels [d·C, (d+1)·C) of one wider kernel [O, b·C, kh, kw].
                    int b = tw.Shape[0];
                    var wide = Reshape(SwapLeadingAxes(tw), [g.O, b * g.C, g.Kh, g.Kw]);
                    var z = Conv2dInputGradPrimitive(gy, wide, new Shape(g.N, b * g.C, g.H, g.W), stride, padding);
                    sum = AddTangentSwapped(sum, Reshape(z, [g.N, b, g.C, g.H, g.W]));
                }
                return sum!;
            },
            gx => [
                Derivatives.Needs(0) ? Conv2dPrimitive(gx, w, null, stride, padding) : null,
                Derivatives.Needs(1) ? Conv2dWeightGradPrimitive(gx, gy, w.Shape, stride, padding) : null,
            ], op);
    }

    /// <param name="values">False to leave the result's values zero and compute only its tangents (see <see cref="Derivatives.ValuesWanted{T}"/>).</param>
    private static Tensor<T> Conv2dWeightGradPrimitive<T>(Tensor<T> x, Tensor<T> gy, Shape weightShape, int stride, int padding, bool values = true)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        const string op = "conv2d-weight-grad";
        var g = Geometry(op, x.Shape, "x", weightShape, "weightShape", stride, padding);
        CheckOutputGradient(op, "g", gy.Shape, g, $"x {x.Shape} and weightShape {weightShape}");
        Tensor<T> y;
        if (values)
        {
            y = Tensor<T>.Uninitialized(weightShape);
            Conv2dKernels.WeightGrad(x.Buffer, gy.Buffer, y.Buffer, g);
        }
        else y = Tensor<T>.Zeros(weightShape);
        return Derivatives.Attach(y, [x, gy],
            t =>
            {
                Tensor<T>? sum = null;
                if (t[0] is { } tx)
                {
                    // Direction d of x's tangent becomes input channels [d·C, (d+1)·C) of a batch [N, b·C, H, W].
                    int b = tx.Shape[0];
                    var wide = Reshape(SwapLeadingAxes(tx), [g.N, b * g.C, g.H, g.W]);
                    var z = Conv2dWeightGradPrimitive(wide, gy, new Shape(g.O, b * g.C, g.Kh, g.Kw), stride, padding);
                    sum = SwapLeadingAxes(Reshape(z, [g.O, b, g.C, g.Kh, g.Kw]));
                }
                if (t[1] is { } tg)
                {
                    // Direction d of g's tangent becomes output channels [d·O, (d+1)·O): the result is [b·O, C, kh, kw].
                    int b = tg.Shape[0];
                    var wide = Reshape(SwapLeadingAxes(tg), [g.N, b * g.O, g.Ho, g.Wo]);
                    var z = Conv2dWeightGradPrimitive(x, wide, new Shape(b * g.O, g.C, g.Kh, g.Kw), stride, padding);
                    sum = AddTangent(sum, Reshape(z, [b, g.O, g.C, g.Kh, g.Kw]));
                }
                return sum!;
            },
            gw => [
                Derivatives.Needs(0) ? Conv2dInputGradPrimitive(gy, gw, x.Shape, stride, padding) : null,
                Derivatives.Needs(1) ? Conv2dPrimitive(x, gw, null, stride, padding) : null,
            ], op);
    }

    private static ConvGeometry Geometry(string op, Shape input, string inputName, Shape weight, string weightName, int stride, int padding)
    {
        if (input.Rank != 4)
            throw new ArgumentException($"{op}: {inputName} must have shape [N, C, H, W], got {input}.", inputName);
        if (weight.Rank != 4)
            throw new ArgumentException($"{op}: {weightName} must have shape [O, C, kh, kw], got {weight}.", weightName);
        if (weight[1] != input[1])
            throw new ArgumentException($"{op}: {weightName} {weight} expects {weight[1]} input channels but {inputName} {input} has {input[1]}.", weightName);
        if (weight[2] < 1 || weight[3] < 1)
            throw new ArgumentException($"{op}: {weightName} {weight} has an empty kernel.", weightName);
        if (stride < 1)
            throw new ArgumentException($"{op}: stride must be at least 1, got {stride} (x {input}, w {weight}).", nameof(stride));
        var (top, ho) = ConvGeometry.Resolve(input[2], weight[2], stride, padding);
        var (left, wo) = ConvGeometry.Resolve(input[3], weight[3], stride, padding);
        if (ho < 1 || wo < 1)
            throw new ArgumentException($"{op}: the {weight[2]}×{weight[3]} kernel of {weightName} {weight} does not fit {inputName} {input} with padding {(padding == ConvGeometry.SamePadding ? "same" : padding.ToString(System.Globalization.CultureInfo.InvariantCulture))}.", inputName);
        if ((long)input[1] * weight[2] * weight[3] * ho * wo > Array.MaxLength)
            throw new ArgumentException($"{op}: the column matrix of one image of {inputName} {input} under the kernel of {weightName} {weight} ({input[1]}·{weight[2]}·{weight[3]} × {ho}·{wo} elements) is too large.", inputName);
        return new ConvGeometry(input[0], input[1], input[2], input[3], weight[0], weight[2], weight[3], stride, top, left, ho, wo);
    }

    private static void CheckOutputGradient(string op, string name, Shape shape, ConvGeometry g, string from)
    {
        var expected = new Shape(g.N, g.O, g.Ho, g.Wo);
        if (shape != expected)
            throw new ArgumentException($"{op}: {name} must have the convolution's output shape {expected} (from {from}), got {shape}.", name);
    }

    private static int PaddingCode(Padding padding) => padding switch
    {
        Padding.Valid => 0,
        Padding.Same => ConvGeometry.SamePadding,
        _ => throw new ArgumentException($"conv2d: unknown padding {padding}.", nameof(padding)),
    };

    private static int ExplicitPadding(int padding, string op) => padding >= 0
        ? padding
        : throw new ArgumentException($"{op}: padding must be a count of zeros ≥ 0, got {padding}.", nameof(padding));

    /// <summary>[a, b, ..rest] → [b, a, ..rest]; a reshape when either axis has one element.</summary>
    private static Tensor<T> SwapLeadingAxes<T>(Tensor<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var dims = x.Shape.ToArray();
        (dims[0], dims[1]) = (dims[1], dims[0]);
        if (dims[0] == 1 || dims[1] == 1) return Reshape(x, new Shape(dims));
        var permutation = Enumerable.Range(0, x.Rank).ToArray();
        (permutation[0], permutation[1]) = (1, 0);
        return Permute(x, permutation);
    }

    private static Tensor<T> AddTangent<T>(Tensor<T>? sum, Tensor<T> term) where T : unmanaged, IFloatingPointIeee754<T>
        => sum is null ? term : Add(sum, term);

    /// <summary>
    /// sum + term [N, b, ..] with its leading axes swapped to [b, N, ..], added into sum in place (a temporary of the
    /// tangent rule): one pass, where a permuted copy and then an add would stream the activations' tangents 2.5
    /// times as much.
    /// </summary>
    private static Tensor<T> AddTangentSwapped<T>(Tensor<T>? sum, Tensor<T> term) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (sum is null) return SwapLeadingAxes(term);
        Blocks.AddSwapped(term.Buffer, term.Shape[0], term.Shape[1], term.Length / Math.Max(1, term.Shape[0] * term.Shape[1]), sum.Buffer);
        return sum;
    }
}
