using System.Numerics;
using Bilevel.Tensors.Internal;
using Bilevel.Tensors.Internal.Kernels;
using TP = System.Numerics.Tensors.TensorPrimitives;

namespace Bilevel.Tensors;

public static partial class Ops
{
    /// <summary>
    /// [2, C] = (Σ g·x̂, Σ g) over the batch and each plane of g, x̂ [N, C, H, W]: the cotangents of an instance
    /// norm's γ and β, as one primitive.
    /// </summary>
    /// <remarks>
    /// Built from a product and two sums, forward-over-reverse (every (FG)²U step and Hessian-vector product through
    /// the ConvNet) would write the product rule's two terms ġ·x̂ and g·ẋ̂ and then their sum, each b times the
    /// activations, only to reduce them: 6% of a condensation (FG)²U call, all of it memory traffic. Here the tangent
    /// reads ġ and ẋ̂ once. The pullback stays made of ops, so reverse-over-reverse differentiates it.
    /// </remarks>
    internal static Tensor<T> ChannelSums<T>(Tensor<T> g, Tensor<T> xhat) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = g.Shape[0], c = g.Shape[1], size = g.Shape[2] * g.Shape[3];
        var y = Tensor<T>.Uninitialized(new Shape(2, c));
        AccumulateChannelSums(g.Buffer, null, g.Buffer, xhat.Buffer, y.Buffer, 1, n, c, size);
        return Derivatives.Attach(y, [g, xhat],
            t =>
            {
                int b = (t[0] ?? t[1])!.Shape[0];
                var ty = Tensor<T>.Uninitialized(new Shape(b, 2, c));
                AccumulateChannelSums(t[0]?.Buffer, t[1]?.Buffer, g.Buffer, xhat.Buffer, ty.Buffer, b, n, c, size);
                return ty;
            },
            gy =>
            {
                var scale = Reshape(Slice(gy, 0, 0, 1), 1, c, 1, 1);
                var shift = Reshape(Slice(gy, 0, 1, 1), 1, c, 1, 1);
                return [Derivatives.Needs(0) ? Add(Mul(scale, xhat), shift) : null, Derivatives.Needs(1) ? Mul(scale, g) : null];
            }, "channel-sums");
    }

    /// <summary>
    /// sums [b, 2, C] = (Σ dg·x̂ + Σ g·dx, Σ dg) per direction and channel, for stacked dg, dx [b, N, C, H, W] (either
    /// absent); the primal sums are the case b = 1, dg = g. Each channel is summed whole by one thread, planes in
    /// order, so the bits do not depend on the thread count; a plane of g and x̂ is read once for all b directions.
    /// </summary>
    private static void AccumulateChannelSums<T>(NativeBuffer<T>? dg, NativeBuffer<T>? dx, NativeBuffer<T> g, NativeBuffer<T> xhat, NativeBuffer<T> sums, int b, int n, int c, int size)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        sums.AsSpan(0, b * 2 * c).Clear();
        long perChannel = (long)b * n * size;
        Parallelism.For(c, (int)Math.Max(1, MinNormElementsPerThread / Math.Max(1, perChannel)), (from, to) =>
        {
            var s = sums.Span;
            for (int channel = from; channel < to; channel++)
                for (int i = 0; i < n; i++)
                {
                    int plane = (i * c + channel) * size;
                    var xp = xhat.AsSpan(plane, size);
                    var gp = g.AsSpan(plane, size);
                    for (int d = 0; d < b; d++)
                    {
                        int stacked = d * n * c * size + plane;
                        ref T product = ref s[(d * 2) * c + channel];
                        if (dg is { } dgs)
                        {
                            var tp = dgs.AsSpan(stacked, size);
                            product += TP.Dot(tp, xp);
                            s[(d * 2 + 1) * c + channel] += TP.Sum(tp);
                        }
                        if (dx is { } dxs) product += TP.Dot(gp, dxs.AsSpan(stacked, size));
                    }
                }
        });
    }
}
