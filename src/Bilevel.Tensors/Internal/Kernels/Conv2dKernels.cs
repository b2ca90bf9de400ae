using System.Numerics;

namespace Bilevel.Tensors.Internal.Kernels;

/// <summary>
/// Convolution by im2col and GEMM (3×3 stride-1 kernels between enough channels go to <see cref="ConvWinograd"/>). Images go in groups, one GEMM per group: the column matrices of a group's images
/// sit side by side in one [C·kh·kw, images·Ho·Wo] matrix, so that a small output (7×7 pixels) still makes a GEMM
/// wide enough to run at full speed. The columns are built in parallel (one task per image and channel, fixed
/// partition) and the GEMM runs on all threads, or, when it is too small to split, contiguous ranges of images run
/// side by side, one per thread; every element is summed in an order fixed by the shapes and the
/// thread count, so results repeat bit for bit. Buffers come from the pool and go back to it.
/// </summary>
internal static class Conv2dKernels
{
    /// <summary>Columns (images × output pixels) a GEMM should have: narrower ones waste the microkernel's width.</summary>
    private const int MinGemmColumns = 512;

    /// <summary>Largest column matrix built at once, in elements (4 MiB of floats).</summary>
    private const int ColumnBudget = 1 << 20;

    /// <summary>Elements a thread should copy before another thread pays for itself.</summary>
    private const int MinParallelElements = 1 << 14;

    /// <summary>y[n] = w · col(x[n]) (+ bias per output channel); x [N, C, H, W], w [O, K], y [N, O, Ho, Wo].</summary>
    public static void Forward<T>(NativeBuffer<T> x, NativeBuffer<T> w, NativeBuffer<T>? bias, NativeBuffer<T> y, ConvGeometry g)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = g.K, p = g.P, o = g.O;
        if (g.N == 0 || g.OutputImage == 0) return;
        if (k == 0)
        {
            if (bias is null) y.AsSpan(0, g.N * g.OutputImage).Clear();
            else AddBias(null, bias, y, 0, g.N, g);
            return;
        }
        if (ConvWinograd.Applies(g))
        {
            ConvWinograd.Forward(x, w, bias, y, g);
            return;
        }
        OverImages(g, ImageRanges(g, o, k, widthIsDepth: false), (_, first, end) => ForwardImages(x, w, bias, y, g, first, end));
    }

    private static void ForwardImages<T>(NativeBuffer<T> x, NativeBuffer<T> w, NativeBuffer<T>? bias, NativeBuffer<T> y, ConvGeometry g, int first, int end)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = g.K, p = g.P, o = g.O;
        int group = GroupSize(g, end - first);
        var col = BufferPool<T>.Rent(group == 1 && g.IsPointwise ? 0 : group * k * p);
        var product = BufferPool<T>.Rent(group == 1 ? 0 : o * group * p);
        try
        {
            for (int n0 = first; n0 < end; n0 += group)
            {
                int nb = Math.Min(group, end - n0), width = nb * p;
                var columns = Columns(x, col, n0, nb, g);
                if (nb == 1)
                {
                    var target = y.AsSpan(n0 * g.OutputImage, o * p);
                    if (bias is not null) AddBias(null, bias, y, n0, 1, g);
                    Gemm.Multiply(false, false, o, p, k, T.One, w.AsSpan(0, o * k), k, columns, p, bias is null ? T.Zero : T.One, target, p);
                }
                else
                {
                    Gemm.Multiply(false, false, o, width, k, T.One, w.AsSpan(0, o * k), k, columns, width, T.Zero, product.AsSpan(0, o * width), width);
                    AddBias(product, bias, y, n0, nb, g);
                }
            }
        }
        finally
        {
            BufferPool<T>.Return(col);
            BufferPool<T>.Return(product);
        }
    }

    /// <summary>gx[n] = col⁻¹(wᵀ · gy[n]): the adjoint of <see cref="Forward"/> in x (a transposed convolution).</summary>
    public static void InputGrad<T>(NativeBuffer<T> gy, NativeBuffer<T> w, NativeBuffer<T> gx, ConvGeometry g)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = g.K, p = g.P, o = g.O;
        int inputLength = g.N * g.InputImage;
        if (inputLength == 0) return;
        if (p == 0 || o == 0)
        {
            gx.AsSpan(0, inputLength).Clear();
            return;
        }
        if (ConvWinograd.Applies(g))
        {
            ConvWinograd.InputGrad(gy, w, gx, g);
            return;
        }
        OverImages(g, ImageRanges(g, k, o, widthIsDepth: false), (_, first, end) => InputGradImages(gy, w, gx, g, first, end));
    }

    private static void InputGradImages<T>(NativeBuffer<T> gy, NativeBuffer<T> w, NativeBuffer<T> gx, ConvGeometry g, int first, int end)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = g.K, p = g.P, o = g.O;
        int group = GroupSize(g, end - first);
        var col = BufferPool<T>.Rent(group == 1 && g.IsPointwise ? 0 : group * k * p);
        var gathered = BufferPool<T>.Rent(group == 1 ? 0 : o * group * p);
        try
        {
            int taps = g.Kh * g.Kw, plane = g.H * g.W;
            for (int n0 = first; n0 < end; n0 += group)
            {
                int nb = Math.Min(group, end - n0), width = nb * p;
                var rows = OutputRows(gy, gathered, n0, nb, g);
                if (nb == 1 && g.IsPointwise)
                {
                    Gemm.Multiply(true, false, k, p, o, T.One, w.AsSpan(0, o * k), k, rows, p, T.Zero, gx.AsSpan(n0 * g.InputImage, k * p), p);
                    continue;
                }
                Gemm.Multiply(true, false, k, width, o, T.One, w.AsSpan(0, o * k), k, rows, width, T.Zero, col.AsSpan(0, k * width), width);
                int start = n0;
                Parallelism.For(nb * g.C, MinChunk(taps * p), (from, to) =>
                {
                    for (int item = from; item < to; item++)
                    {
                        int i = item / g.C, c = item % g.C;
                        var target = gx.AsSpan(((start + i) * g.C + c) * plane, plane);
                        target.Clear();
                        Im2Col.Unpack<T>(col.AsSpan(c * taps * width + i * p), width, target, g);
                    }
                });
            }
        }
        finally
        {
            BufferPool<T>.Return(col);
            BufferPool<T>.Return(gathered);
        }
    }

    /// <summary>gw = Σₙ gy[n] · col(x[n])ᵀ: the adjoint of <see cref="Forward"/> in w, summed group after group.</summary>
    public static void WeightGrad<T>(NativeBuffer<T> x, NativeBuffer<T> gy, NativeBuffer<T> gw, ConvGeometry g)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = g.K, p = g.P, o = g.O;
        if (o * k == 0) return;
        if (g.N == 0 || p == 0)
        {
            gw.AsSpan(0, o * k).Clear();
            return;
        }
        if (ConvWinograd.Applies(g))
        {
            ConvWinograd.WeightGrad(x, gy, gw, g);
            return;
        }
        // Each range of images sums into its own [O, K] block (the first into gw itself); the blocks are then added
        // in range order, so the sum is fixed by the shapes and the thread count.
        int ranges = ImageRanges(g, o, k, widthIsDepth: true);
        var partials = new NativeBuffer<T>[ranges];
        try
        {
            for (int r = 1; r < ranges; r++) partials[r] = BufferPool<T>.Rent(o * k);
            OverImages(g, ranges, (range, first, end) => WeightGradImages(x, gy, range == 0 ? gw : partials[range], g, first, end));
            for (int r = 1; r < ranges; r++)
                System.Numerics.Tensors.TensorPrimitives.Add(gw.AsSpan(0, o * k), partials[r].AsSpan(0, o * k), gw.AsSpan(0, o * k));
        }
        finally
        {
            for (int r = 1; r < ranges; r++) BufferPool<T>.Return(partials[r]);
        }
    }

    private static void WeightGradImages<T>(NativeBuffer<T> x, NativeBuffer<T> gy, NativeBuffer<T> gw, ConvGeometry g, int first, int end)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = g.K, p = g.P, o = g.O;
        int group = GroupSize(g, end - first);
        var col = BufferPool<T>.Rent(group == 1 && g.IsPointwise ? 0 : group * k * p);
        var gathered = BufferPool<T>.Rent(group == 1 ? 0 : o * group * p);
        try
        {
            for (int n0 = first; n0 < end; n0 += group)
            {
                int nb = Math.Min(group, end - n0), width = nb * p;
                var columns = Columns(x, col, n0, nb, g);
                var rows = OutputRows(gy, gathered, n0, nb, g);
                Gemm.Multiply(false, true, o, k, width, T.One, rows, width, columns, width, n0 == first ? T.Zero : T.One, gw.AsSpan(0, o * k), k);
            }
        }
        finally
        {
            BufferPool<T>.Return(col);
            BufferPool<T>.Return(gathered);
        }
    }

    /// <summary>
    /// The column matrix [K, nb·P] of images [n0, n0 + nb), built in <paramref name="col"/> in parallel; a single
    /// image of a pointwise convolution is its own column matrix.
    /// </summary>
    private static ReadOnlySpan<T> Columns<T>(NativeBuffer<T> x, NativeBuffer<T> col, int n0, int nb, ConvGeometry g)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int p = g.P, width = nb * p, taps = g.Kh * g.Kw, plane = g.H * g.W;
        if (nb == 1 && g.IsPointwise) return x.AsSpan(n0 * g.InputImage, g.K * p);
        Parallelism.For(nb * g.C, MinChunk(taps * p), (from, to) =>
        {
            for (int item = from; item < to; item++)
            {
                int i = item / g.C, c = item % g.C;
                Im2Col.Pack<T>(x.AsSpan(((n0 + i) * g.C + c) * plane, plane), col.AsSpan(c * taps * width + i * p), width, g);
            }
        });
        return col.AsSpan(0, g.K * width);
    }

    /// <summary>Output (gradient) rows [O, nb·P] of images [n0, n0 + nb): the images' own rows when nb = 1, else gathered.</summary>
    private static ReadOnlySpan<T> OutputRows<T>(NativeBuffer<T> gy, NativeBuffer<T> gathered, int n0, int nb, ConvGeometry g)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int p = g.P, o = g.O, width = nb * p;
        if (nb == 1) return gy.AsSpan(n0 * g.OutputImage, o * p);
        Parallelism.For(nb * o, MinChunk(p), (from, to) =>
        {
            for (int row = from; row < to; row++)
            {
                int i = row / o, channel = row % o;
                gy.AsSpan(((n0 + i) * o + channel) * p, p).CopyTo(gathered.AsSpan(channel * width + i * p, p));
            }
        });
        return gathered.AsSpan(0, o * width);
    }

    /// <summary>
    /// y[n0 + i, o, :] = product[o, i·P ..] + bias[o] for the group's images; with no product, y's rows are filled
    /// with the bias (before a GEMM accumulates onto them).
    /// </summary>
    private static void AddBias<T>(NativeBuffer<T>? product, NativeBuffer<T>? bias, NativeBuffer<T> y, int n0, int nb, ConvGeometry g)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int p = g.P, o = g.O, width = nb * p;
        Parallelism.For(nb * o, MinChunk(p), (from, to) =>
        {
            for (int row = from; row < to; row++)
            {
                int i = row / o, channel = row % o;
                var target = y.AsSpan(((n0 + i) * o + channel) * p, p);
                if (product is not { } rows) target.Fill(bias!.Value[channel]);
                else if (bias is not { } b) rows.AsSpan(channel * width + i * p, p).CopyTo(target);
                else System.Numerics.Tensors.TensorPrimitives.Add(rows.AsSpan(channel * width + i * p, p), b[channel], target);
            }
        });
    }

    /// <summary>Images per GEMM among <paramref name="images"/>: enough for <see cref="MinGemmColumns"/> columns, within the column budget.</summary>
    private static int GroupSize(in ConvGeometry g, int images)
    {
        int p = Math.Max(1, g.P);
        int wide = (MinGemmColumns + p - 1) / p;
        int budget = Math.Max(1, ColumnBudget / Math.Max(1, g.K * p));
        return Math.Clamp(Math.Min(wide, budget), 1, Math.Max(1, images));
    }

    /// <summary>
    /// How many contiguous ranges of images run side by side, each on one thread: one when a group's product is big
    /// enough for the GEMM to split over the threads itself, else one per thread. The product is [rows, width]·[width
    /// or other] with width = group·P columns: [rows, other, width] as m, n, k when the width is summed over (the weight
    /// gradient), else [rows, width, other]. The first layer of an MNIST ConvNet (one 28×28 channel, 32×784×9 per
    /// image) is the case: its products ran one after another on the calling thread.
    /// </summary>
    private static int ImageRanges(in ConvGeometry g, int rows, int other, bool widthIsDepth)
    {
        int width = GroupSize(g, g.N) * g.P;
        bool gemmSplits = widthIsDepth ? Gemm.SplitsOverThreads(rows, other, width) : Gemm.SplitsOverThreads(rows, width, other);
        return gemmSplits ? 1 : Parallelism.ChunkCount(g.N, 1);
    }

    /// <summary>Runs <paramref name="body"/>(range, first image, end image) over <paramref name="ranges"/> ranges of the images, each single-threaded when there are several.</summary>
    private static void OverImages(in ConvGeometry g, int ranges, Action<int, int, int> body)
    {
        if (ranges == 1)
        {
            body(0, 0, g.N);
            return;
        }
        Parallelism.ForChunks(g.N, ranges, (range, first, end) =>
        {
            using var oneThread = TensorEngine.LimitThreads(1);
            body(range, first, end);
        });
    }

    private static int MinChunk(int elementsPerItem) => Math.Max(1, MinParallelElements / Math.Max(1, elementsPerItem));
}
