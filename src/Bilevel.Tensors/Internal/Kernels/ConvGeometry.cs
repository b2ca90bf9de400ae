namespace Bilevel.Tensors.Internal.Kernels;

/// <summary>
/// The index arithmetic of a 2-d convolution of x [N, C, H, W] with a kernel [O, C, Kh, Kw]: output pixel (i, j)
/// reads input rows i·Stride − PadTop + r and columns j·Stride − PadLeft + s (r &lt; Kh, s &lt; Kw); reads outside the
/// input are zeros. The bottom and right padding are implied by the output size Ho × Wo.
/// </summary>
internal readonly record struct ConvGeometry(int N, int C, int H, int W, int O, int Kh, int Kw, int Stride, int PadTop, int PadLeft, int Ho, int Wo)
{
    /// <summary>The padding code for SAME: output size ⌈size / stride⌉, the padding split evenly, any odd one at the end.</summary>
    public const int SamePadding = -1;

    /// <summary>Rows of the column matrix (one per input channel and kernel tap): C·Kh·Kw.</summary>
    public int K => C * Kh * Kw;

    /// <summary>Output pixels per image and channel: Ho·Wo.</summary>
    public int P => Ho * Wo;

    /// <summary>Elements of one input image: C·H·W.</summary>
    public int InputImage => C * H * W;

    /// <summary>Elements of one output image: O·Ho·Wo.</summary>
    public int OutputImage => O * Ho * Wo;

    /// <summary>A 1×1 kernel at stride 1 without padding: the column matrix of an image is the image itself.</summary>
    public bool IsPointwise => Kh == 1 && Kw == 1 && Stride == 1 && PadTop == 0 && PadLeft == 0 && Ho == H && Wo == W;

    /// <summary>
    /// The padding before the first element and the output size along one axis of <paramref name="size"/> elements,
    /// or an output size ≤ 0 when the (padded) axis is shorter than the kernel. <paramref name="padding"/> is a
    /// count of zeros on each side, or <see cref="SamePadding"/>.
    /// </summary>
    public static (int Before, int Output) Resolve(int size, int kernel, int stride, int padding)
    {
        if (padding == SamePadding)
        {
            int output = (size + stride - 1) / stride;
            int total = Math.Max((output - 1) * stride + kernel - size, 0);
            return (total / 2, output);
        }
        long padded = (long)size + 2L * padding;
        return (padding, padded < kernel ? 0 : (int)((padded - kernel) / stride) + 1);
    }
}
