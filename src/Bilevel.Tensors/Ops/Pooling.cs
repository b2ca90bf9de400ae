using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Bilevel.Tensors.Internal;
using Bilevel.Tensors.Internal.Kernels;

namespace Bilevel.Tensors;

public static partial class Ops
{
    /// <summary>Planes a thread should pool before another thread pays for itself.</summary>
    private const int MinPoolElementsPerThread = 1 << 14;

    /// <summary>
    /// Mean over kernel × kernel windows of x [N, C, H, W], moved by <paramref name="stride"/> (default: the kernel);
    /// no padding, output size ⌊(size − kernel) / stride⌋ + 1 (28 → 14 → 7 → 3 for 2×2 at stride 2). Linear; its
    /// adjoint is <see cref="AvgPool2dBackward{T}"/>.
    /// </summary>
    public static Tensor<T> AvgPool2d<T>(Tensor<T> x, int kernel, int? stride = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        const string op = "avg-pool2d";
        int s = stride ?? kernel;
        var (n, c, ho, wo) = PoolGeometry(op, x.Shape, "x", kernel, s);
        var y = Tensor<T>.Uninitialized(new Shape(n, c, ho, wo));
        AvgPoolKernel(x.Buffer, y.Buffer, n * c, x.Shape[2], x.Shape[3], ho, wo, kernel, s);
        return Derivatives.Attach(y, [x],
            t =>
            {
                int b = t[0]!.Shape[0];
                var z = AvgPool2d(Reshape(t[0]!, [b * n, c, x.Shape[2], x.Shape[3]]), kernel, s);
                return Reshape(z, [b, n, c, ho, wo]);
            },
            g => [AvgPool2dBackward(g, x.Shape, kernel, s)], op);
    }

    /// <summary>
    /// The adjoint of <see cref="AvgPool2d{T}"/>: spreads each element of g [N, C, Ho, Wo] evenly over its window of
    /// an input of shape <paramref name="inputShape"/> (elements in no window get zero).
    /// </summary>
    public static Tensor<T> AvgPool2dBackward<T>(Tensor<T> g, Shape inputShape, int kernel, int? stride = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        const string op = "avg-pool2d-backward";
        int s = stride ?? kernel;
        var (n, c, ho, wo) = PoolGeometry(op, inputShape, "inputShape", kernel, s);
        var expected = new Shape(n, c, ho, wo);
        if (g.Shape != expected)
            throw new ArgumentException($"{op}: g must have the pooled shape {expected} of inputShape {inputShape} ({kernel}×{kernel} windows, stride {s}), got {g.Shape}.", nameof(g));
        var y = Tensor<T>.Uninitialized(inputShape);
        AvgPoolBackwardKernel(g.Buffer, y.Buffer, n * c, inputShape[2], inputShape[3], ho, wo, kernel, s);
        return Derivatives.Attach(y, [g],
            t =>
            {
                int b = t[0]!.Shape[0];
                var z = AvgPool2dBackward(Reshape(t[0]!, [b * n, c, ho, wo]), new Shape(b * n, c, inputShape[2], inputShape[3]), kernel, s);
                return Reshape(z, [b, n, c, inputShape[2], inputShape[3]]);
            },
            gx => [AvgPool2d(gx, kernel, s)], op);
    }

    /// <summary>
    /// Maximum over kernel × kernel windows of x [N, C, H, W] (stride defaults to the kernel; floor output size).
    /// The kernel records where each maximum sits (the first one on ties, NaN wins); the value is then a gather of
    /// those positions, so the tangent is the gathered tangent and the cotangent is scattered back to them.
    /// </summary>
    public static Tensor<T> MaxPool2d<T>(Tensor<T> x, int kernel, int? stride = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        const string op = "max-pool2d";
        int s = stride ?? kernel;
        var (n, c, ho, wo) = PoolGeometry(op, x.Shape, "x", kernel, s);
        var resultShape = new Shape(n, c, ho, wo);
        int count = resultShape.Length;
        // The positions live in a pooled tensor (as int bit patterns), so they share the scope's lifetime.
        var positions = Tensor<T>.Uninitialized(new Shape((count * sizeof(int) + Unsafe.SizeOf<T>() - 1) / Unsafe.SizeOf<T>()));
        MaxPoolKernel(x.Buffer, positions.Buffer, n * c, x.Shape[2], x.Shape[3], ho, wo, kernel, s);
        return GatherPositions(x, positions, count, x.Shape, resultShape);
    }

    /// <summary>y[.., m] = x[.., position m] over the trailing <paramref name="source"/> axes; leading axes (stacked tangents) ride along.</summary>
    private static Tensor<T> GatherPositions<T>(Tensor<T> x, Tensor<T> positions, int count, Shape source, Shape result) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int blocks = LeadingBlocks(x.Shape, source, out var lead);
        var y = Tensor<T>.Uninitialized(WithLeading(lead, result));
        var at = MemoryMarshal.Cast<T, int>(positions.Span)[..count];
        var src = x.Span;
        var dst = y.Span;
        for (int block = 0; block < blocks; block++)
        {
            var from = src.Slice(block * source.Length, source.Length);
            var to = dst.Slice(block * count, count);
            for (int m = 0; m < count; m++) to[m] = from[at[m]];
        }
        return Derivatives.Attach(y, [x],
            t => GatherPositions(t[0]!, positions, count, source, result),
            g => [ScatterPositions(g, positions, count, result, source)], "max-pool2d");
    }

    /// <summary>The adjoint of <see cref="GatherPositions{T}"/>: adds element m of g into position m of a zero tensor.</summary>
    private static Tensor<T> ScatterPositions<T>(Tensor<T> g, Tensor<T> positions, int count, Shape result, Shape source) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int blocks = LeadingBlocks(g.Shape, result, out var lead);
        var y = Tensor<T>.Zeros(WithLeading(lead, source));
        var at = MemoryMarshal.Cast<T, int>(positions.Span)[..count];
        var src = g.Span;
        var dst = y.Span;
        for (int block = 0; block < blocks; block++)
        {
            var from = src.Slice(block * count, count);
            var to = dst.Slice(block * source.Length, source.Length);
            for (int m = 0; m < count; m++) to[at[m]] += from[m];
        }
        return Derivatives.Attach(y, [g],
            t => ScatterPositions(t[0]!, positions, count, result, source),
            gx => [GatherPositions(gx, positions, count, source, result)], "max-pool2d-backward");
    }

    private static int LeadingBlocks(Shape shape, Shape trailing, out int[] lead)
    {
        lead = shape.Dims[..(shape.Rank - trailing.Rank)].ToArray();
        int blocks = 1;
        foreach (int d in lead) blocks *= d;
        return blocks;
    }

    private static Shape WithLeading(int[] lead, Shape rest)
    {
        var dims = new int[lead.Length + rest.Rank];
        lead.CopyTo(dims, 0);
        rest.Dims.CopyTo(dims.AsSpan(lead.Length));
        return new Shape(dims);
    }

    private static (int N, int C, int Ho, int Wo) PoolGeometry(string op, Shape input, string name, int kernel, int stride)
    {
        if (input.Rank != 4)
            throw new ArgumentException($"{op}: {name} must have shape [N, C, H, W], got {input}.", name);
        if (kernel < 1)
            throw new ArgumentException($"{op}: kernel must be at least 1, got {kernel} ({name} {input}).", nameof(kernel));
        if (stride < 1)
            throw new ArgumentException($"{op}: stride must be at least 1, got {stride} ({name} {input}).", nameof(stride));
        if (input[2] < kernel || input[3] < kernel)
            throw new ArgumentException($"{op}: a {kernel}×{kernel} window does not fit {name} {input}.", name);
        return (input[0], input[1], (input[2] - kernel) / stride + 1, (input[3] - kernel) / stride + 1);
    }

    private static void AvgPoolKernel<T>(NativeBuffer<T> x, NativeBuffer<T> y, int planes, int h, int w, int ho, int wo, int k, int s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T scale = T.One / T.CreateChecked(k * k);
        Parallelism.For(planes, Math.Max(1, MinPoolElementsPerThread / Math.Max(1, h * w)), (from, to) =>
        {
            for (int plane = from; plane < to; plane++)
            {
                var src = x.AsSpan(plane * h * w, h * w);
                var dst = y.AsSpan(plane * ho * wo, ho * wo);
                for (int i = 0; i < ho; i++)
                {
                    var row = dst.Slice(i * wo, wo);
                    if (k == 2 && s == 2)
                    {
                        var a = src.Slice(2 * i * w, w);
                        var b = src.Slice((2 * i + 1) * w, w);
                        for (int j = 0; j < wo; j++)
                            row[j] = (a[2 * j] + a[2 * j + 1] + (b[2 * j] + b[2 * j + 1])) * scale;
                        continue;
                    }
                    for (int j = 0; j < wo; j++)
                    {
                        T sum = T.Zero;
                        for (int r = 0; r < k; r++)
                        {
                            var window = src.Slice((i * s + r) * w + j * s, k);
                            for (int q = 0; q < k; q++) sum += window[q];
                        }
                        row[j] = sum * scale;
                    }
                }
            }
        });
    }

    private static void AvgPoolBackwardKernel<T>(NativeBuffer<T> g, NativeBuffer<T> x, int planes, int h, int w, int ho, int wo, int k, int s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T scale = T.One / T.CreateChecked(k * k);
        Parallelism.For(planes, Math.Max(1, MinPoolElementsPerThread / Math.Max(1, h * w)), (from, to) =>
        {
            for (int plane = from; plane < to; plane++)
            {
                var src = g.AsSpan(plane * ho * wo, ho * wo);
                var dst = x.AsSpan(plane * h * w, h * w);
                if (k == 2 && s == 2)
                {
                    for (int i = 0; i < ho; i++)
                    {
                        var row = src.Slice(i * wo, wo);
                        var a = dst.Slice(2 * i * w, w);
                        var b = dst.Slice((2 * i + 1) * w, w);
                        for (int j = 0; j < wo; j++)
                        {
                            T v = row[j] * scale;
                            a[2 * j] = v;
                            a[2 * j + 1] = v;
                            b[2 * j] = v;
                            b[2 * j + 1] = v;
                        }
                        a[(2 * wo)..].Clear();
                        b[(2 * wo)..].Clear();
                    }
                    dst[(2 * ho * w)..].Clear();
                    continue;
                }
                dst.Clear();
                for (int i = 0; i < ho; i++)
                    for (int j = 0; j < wo; j++)
                    {
                        T v = src[i * wo + j] * scale;
                        for (int r = 0; r < k; r++)
                        {
                            var window = dst.Slice((i * s + r) * w + j * s, k);
                            for (int q = 0; q < k; q++) window[q] += v;
                        }
                    }
            }
        });
    }

    private static void MaxPoolKernel<T>(NativeBuffer<T> x, NativeBuffer<T> positionBits, int planes, int h, int w, int ho, int wo, int k, int s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Parallelism.For(planes, Math.Max(1, MinPoolElementsPerThread / Math.Max(1, h * w)), (from, to) =>
        {
            var positions = MemoryMarshal.Cast<T, int>(positionBits.Span);
            for (int plane = from; plane < to; plane++)
            {
                int offset = plane * h * w;
                var src = x.AsSpan(offset, h * w);
                for (int i = 0; i < ho; i++)
                    for (int j = 0; j < wo; j++)
                    {
                        int best = i * s * w + j * s;
                        T max = src[best];
                        for (int r = 0; r < k; r++)
                            for (int q = 0; q < k; q++)
                            {
                                int at = (i * s + r) * w + j * s + q;
                                T v = src[at];
                                if (v > max || (T.IsNaN(v) && !T.IsNaN(max)))
                                {
                                    max = v;
                                    best = at;
                                }
                            }
                        positions[(plane * ho + i) * wo + j] = offset + best;
                    }
            }
        });
    }
}
