using System.Numerics;
using Bilevel.Tensors;

namespace Bilevel.Nn;

/// <summary>Where a convolution's kernel reads its input: output size and leading padding per axis.</summary>
internal readonly record struct KfacConvGeometry(int Ho, int Wo, int PadTop, int PadLeft, int PaddedHeight, int PaddedWidth)
{
    public int Positions => Ho * Wo;
}

/// <summary>
/// im2col with engine ops, for KFAC's input statistics of a convolution: row (i, p) of the result is the patch
/// under output position p of sample i, ordered (c, r, s) like a weight [O, C, kh, kw] flattened to [O, C·kh·kw],
/// so that the convolution's output at (i, p) is W_flat · row. The geometry mirrors <see cref="Ops.Conv2d{T}(Tensor{T}, Tensor{T}, Tensor{T}?, int, Padding)"/>.
/// </summary>
internal static class KfacPatches
{
    public static KfacConvGeometry Geometry(KfacLayer layer, Shape input)
    {
        var (top, ho, paddedH) = Axis(input[2], layer.KernelHeight, layer.Stride, layer.Padding);
        var (left, wo, paddedW) = Axis(input[3], layer.KernelWidth, layer.Stride, layer.Padding);
        if (ho < 1 || wo < 1)
            throw new ArgumentException($"kfac layer {layer.Name}: its {layer.KernelHeight}×{layer.KernelWidth} kernel does not fit an input {input}.", nameof(input));
        return new KfacConvGeometry(ho, wo, top, left, paddedH, paddedW);
    }

    /// <summary>The patches of x [n, C, H, W] as rows [n·Ho·Wo, C·kh·kw].</summary>
    public static Tensor<T> Rows<T>(Tensor<T> x, KfacLayer layer, KfacConvGeometry g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        var padded = x;
        if (g.PaddedHeight != h) padded = Ops.Pad(padded, 2, g.PadTop, g.PaddedHeight);
        if (g.PaddedWidth != w) padded = Ops.Pad(padded, 3, g.PadLeft, g.PaddedWidth);
        int taps = layer.KernelHeight * layer.KernelWidth;
        var columns = new Tensor<T>[taps];
        for (int r = 0; r < layer.KernelHeight; r++)
        {
            var rowsOfTap = Window(padded, 2, r, g.Ho, layer.Stride);
            for (int s = 0; s < layer.KernelWidth; s++)
                columns[r * layer.KernelWidth + s] = Ops.Reshape(Window(rowsOfTap, 3, s, g.Wo, layer.Stride), n, c, 1, g.Positions);
        }
        var stacked = taps == 1 ? columns[0] : Ops.Concat(columns, 2);
        var perSample = Ops.Reshape(stacked, n, c * taps, g.Positions);
        return Ops.Reshape(Ops.Permute(perSample, 0, 2, 1), n * g.Positions, c * taps);
    }

    /// <summary>Elements start, start + stride, … (count of them) along <paramref name="axis"/>.</summary>
    private static Tensor<T> Window<T>(Tensor<T> x, int axis, int start, int count, int stride) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (stride == 1) return Ops.Slice(x, axis, start, count);
        var indices = new int[count];
        for (int i = 0; i < count; i++) indices[i] = start + i * stride;
        return Ops.Gather(x, axis, indices);
    }

    /// <summary>Leading padding, output size and padded size along one axis (SAME: ⌈size / stride⌉ outputs, any odd padding at the end).</summary>
    private static (int Before, int Output, int Padded) Axis(int size, int kernel, int stride, Padding padding)
    {
        if (padding == Padding.Same)
        {
            int output = (size + stride - 1) / stride;
            int total = Math.Max((output - 1) * stride + kernel - size, 0);
            return (total / 2, output, size + total);
        }
        return (0, size < kernel ? 0 : (size - kernel) / stride + 1, size);
    }
}
