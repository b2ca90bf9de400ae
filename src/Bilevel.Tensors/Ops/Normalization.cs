using System.Numerics;
using Bilevel.Tensors.Internal;
using Bilevel.Tensors.Internal.Kernels;
using TP = System.Numerics.Tensors.TensorPrimitives;

namespace Bilevel.Tensors;

public static partial class Ops
{
    /// <summary>Planes (H×W) a thread should normalise before another thread pays for itself, in elements.</summary>
    private const int MinNormElementsPerThread = 1 << 14;

    /// <summary>
    /// Instance normalisation of x [N, C, H, W]: each sample's channel is centred and scaled by 1/√(var + eps) over
    /// H×W (biased variance), then scaled by gamma [C] and shifted by beta [C] when given.
    /// </summary>
    /// <remarks>
    /// One primitive: a composition of means, differences and products would stream the activations a dozen times
    /// forward and twice that backward. With x̂ = (x − μ)·r, r = 1/√(var + eps), the Jacobian of x̂ is
    /// J v = r·(v − mean(v) − x̂·mean(x̂·v)) per plane, symmetric, so one formula is the tangent rule and the
    /// pullback. The pullback is itself a primitive (<see cref="InstanceNormJacobian{T}"/>) with its own tangent
    /// rule, and x̂ and r carry their tangents (ẋ̂ = J ẋ, ṙ = −r²·mean(x̂·ẋ)), so Jvp(Grad(f)) differentiates the
    /// pullback too.
    /// </remarks>
    public static Tensor<T> InstanceNorm<T>(Tensor<T> x, Tensor<T>? gamma = null, Tensor<T>? beta = null, double eps = 1e-5)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        const string op = "instance-norm";
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 4)
            throw new ArgumentException($"{op}: x must have shape [N, C, H, W], got {x.Shape}.", nameof(x));
        int c = x.Shape[1];
        if (gamma is not null && (gamma.Rank != 1 || gamma.Shape[0] != c))
            throw new ArgumentException($"{op}: gamma must have shape [{c}] (one per channel of x {x.Shape}), got {gamma.Shape}.", nameof(gamma));
        if (beta is not null && (beta.Rank != 1 || beta.Shape[0] != c))
            throw new ArgumentException($"{op}: beta must have shape [{c}] (one per channel of x {x.Shape}), got {beta.Shape}.", nameof(beta));
        if (!(eps >= 0))
            throw new ArgumentException($"{op}: eps must be ≥ 0, got {eps} (x {x.Shape}).", nameof(eps));
        return InstanceNormPrimitive(x, gamma, beta, T.CreateChecked(eps));
    }

    private static Tensor<T> InstanceNormPrimitive<T>(Tensor<T> x, Tensor<T>? gamma, Tensor<T>? beta, T eps) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Shape[0], c = x.Shape[1];
        bool affine = gamma is not null || beta is not null;
        var xhat = Tensor<T>.Uninitialized(x.Shape);
        var r = Tensor<T>.Uninitialized(new Shape(n, c, 1, 1));
        var y = affine ? Tensor<T>.Uninitialized(x.Shape) : xhat;
        NormalizeKernel(x.Buffer, xhat.Buffer, r.Buffer, gamma?.Buffer, beta?.Buffer, affine ? y.Buffer : null, n * c, c, x.Shape[2] * x.Shape[3], eps);
        Tensor<T>[] inputs = [x, .. gamma is null ? [] : new[] { gamma }, .. beta is null ? [] : new[] { beta }];
        int gammaIndex = gamma is null ? -1 : 1, betaIndex = beta is null ? -1 : inputs.Length - 1;
        var channelShape = new Shape(1, c, 1, 1);
        return Derivatives.Attach(y, inputs,
            t => InstanceNormTangent(xhat, r, affine, t[0], gamma, gammaIndex >= 0 ? t[gammaIndex] : null, betaIndex >= 0 ? t[betaIndex] : null),
            g =>
            {
                var cotangents = new Tensor<T>?[inputs.Length];
                // J is linear in r, and γ is constant over a plane: J(γ·g) is J with scales r·γ applied to g.
                if (Derivatives.Needs(0))
                    cotangents[0] = InstanceNormJacobian(xhat, gamma is null ? r : Mul(r, Reshape(gamma, channelShape)), g);
                bool needsGamma = gammaIndex >= 0 && Derivatives.Needs(gammaIndex), needsBeta = betaIndex >= 0 && Derivatives.Needs(betaIndex);
                if (needsGamma || needsBeta)
                {
                    var sums = ChannelSums(g, xhat);
                    if (needsGamma) cotangents[gammaIndex] = Reshape(Slice(sums, 0, 0, 1), c);
                    if (needsBeta) cotangents[betaIndex] = Reshape(Slice(sums, 0, 1, 1), c);
                }
                return cotangents;
            }, "instance-norm");
    }

    /// <summary>
    /// J v = r·(v − mean(v) − x̂·mean(x̂·v)) over each H×W plane: the Jacobian of the normalisation at x̂ with scales r
    /// [N, C, 1, 1], applied to <paramref name="v"/> [N, C, H, W]. Linear in v; used as the pullback of the
    /// normalisation, so it has its own tangent rule (in x̂, r and v) and pullback.
    /// </summary>
    internal static Tensor<T> InstanceNormJacobian<T>(Tensor<T> xhat, Tensor<T> r, Tensor<T> v) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var y = JacobianKernel(xhat, r, v);
        return Derivatives.Attach(y, [xhat, r, v],
            t => JacobianTangentKernel(xhat, r, v, y, t[0], t[1], t[2]),
            g => [
                Derivatives.Needs(0) ? Neg(Mul(Add(Mul(g, Mean(Mul(xhat, v), [2, 3], keepDims: true)), Mul(v, Mean(Mul(xhat, g), [2, 3], keepDims: true))), r)) : null,
                Derivatives.Needs(1) ? Div(Sum(Mul(g, y), [2, 3], keepDims: true), r) : null,
                Derivatives.Needs(2) ? InstanceNormJacobian(xhat, r, g) : null,
            ], "instance-norm-jacobian");
    }

    /// <summary>J v for v [.., N, C, H, W] (stacked tangents ride along in front), as a plain kernel.</summary>
    private static Tensor<T> JacobianKernel<T>(Tensor<T> xhat, Tensor<T> r, Tensor<T> v) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int planes = xhat.Shape[0] * xhat.Shape[1], size = xhat.Shape[2] * xhat.Shape[3];
        var y = Tensor<T>.Uninitialized(v.Shape);
        NativeBuffer<T> xs = xhat.Buffer, rs = r.Buffer, vs = v.Buffer, ys = y.Buffer;
        int total = planes == 0 || size == 0 ? 0 : v.Length / size;
        T scale = T.One / T.CreateChecked(Math.Max(1, size));
        Parallelism.For(total, Math.Max(1, MinNormElementsPerThread / Math.Max(1, size)), (from, to) =>
        {
            for (int p = from; p < to; p++)
            {
                int q = p % planes;
                var xp = xs.AsSpan(q * size, size);
                var vp = vs.AsSpan(p * size, size);
                var yp = ys.AsSpan(p * size, size);
                T meanV = TP.Sum(vp) * scale, meanXv = TP.Dot(xp, vp) * scale;
                TP.Subtract(vp, meanV, yp);
                TP.MultiplyAdd(xp, -meanXv, yp, yp);
                TP.Multiply(yp, rs[q], yp);
            }
        });
        return y;
    }

    /// <summary>
    /// The tangent rule of the normalisation, fused: ẋ̂ = J ẋ (kept as x̂'s tangent when the output is affine),
    /// ṙ = −r²·mean(x̂·ẋ) (kept as r's tangent), and the output's ẏ = γ·ẋ̂ + γ̇·x̂ + β̇, in one pass per plane.
    /// x̂ and r are inputs of the pullback; their tangents let forward-over-reverse differentiate it.
    /// </summary>
    private static Tensor<T> InstanceNormTangent<T>(Tensor<T> xhat, Tensor<T> r, bool affine, Tensor<T>? tx, Tensor<T>? gamma, Tensor<T>? tgamma, Tensor<T>? tbeta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int channels = xhat.Shape[1], planes = xhat.Shape[0] * channels, size = xhat.Shape[2] * xhat.Shape[3];
        int b = (tx ?? tgamma ?? tbeta)!.Shape[0];
        Tensor<T>? txhat = tx is null ? null : Tensor<T>.Uninitialized(tx.Shape);
        Tensor<T>? tr = tx is null ? null : Tensor<T>.Uninitialized(r.Shape.Prepend(b));
        // Without gamma and beta the output is x̂ itself, and only x has a tangent.
        var ty = affine ? Tensor<T>.Uninitialized(xhat.Shape.Prepend(b)) : txhat!;
        NativeBuffer<T> xs = xhat.Buffer, rs = r.Buffer, tys = ty.Buffer;
        NativeBuffer<T>? txs = tx?.Buffer, txh = txhat?.Buffer, trs = tr?.Buffer, gs = gamma?.Buffer, tgs = tgamma?.Buffer, tbs = tbeta?.Buffer;
        T scale = T.One / T.CreateChecked(Math.Max(1, size));
        Parallelism.For(b * planes, Math.Max(1, MinNormElementsPerThread / Math.Max(1, size)), (from, to) =>
        {
            for (int p = from; p < to; p++)
            {
                int q = p % planes, channel = q % channels, direction = p / planes;
                var xp = xs.AsSpan(q * size, size);
                var yp = tys.AsSpan(p * size, size);
                if (txs is { } txv)
                {
                    var tp = txv.AsSpan(p * size, size);
                    var hp = txh!.Value.AsSpan(p * size, size);
                    T mean = TP.Sum(tp) * scale, projection = TP.Dot(xp, tp) * scale, rq = rs[q];
                    TP.Subtract(tp, mean, hp);
                    TP.MultiplyAdd(xp, -projection, hp, hp);
                    TP.Multiply(hp, rq, hp);
                    trs!.Value[p] = -(rq * rq) * projection;
                    if (!affine) continue;
                    TP.Multiply(hp, gs is { } gv ? gv[channel] : T.One, yp);
                }
                else
                {
                    yp.Clear();
                }
                if (tgs is { } tgv) TP.MultiplyAdd(xp, tgv[direction * channels + channel], yp, yp);
                if (tbs is { } tbv) TP.Add(yp, tbv[direction * channels + channel], yp);
            }
        });
        if (tx is not null)
        {
            r.Tangent = tr;
            if (affine) xhat.Tangent = txhat;
        }
        return ty;
    }

    /// <summary>
    /// The tangent rule of <see cref="InstanceNormJacobian{T}"/> at y = J v, fused per plane:
    /// ẏ = J v̇ + (ṙ/r)·y − r·(ẋ̂·mean(x̂·v) + x̂·mean(ẋ̂·v)).
    /// </summary>
    private static Tensor<T> JacobianTangentKernel<T>(Tensor<T> xhat, Tensor<T> r, Tensor<T> v, Tensor<T> y, Tensor<T>? txhat, Tensor<T>? tr, Tensor<T>? tv)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int planes = xhat.Shape[0] * xhat.Shape[1], size = xhat.Shape[2] * xhat.Shape[3];
        int b = (txhat ?? tr ?? tv)!.Shape[0];
        var result = Tensor<T>.Uninitialized(xhat.Shape.Prepend(b));
        NativeBuffer<T> xs = xhat.Buffer, rs = r.Buffer, vs = v.Buffer, ys = y.Buffer, outs = result.Buffer;
        NativeBuffer<T>? txs = txhat?.Buffer, trs = tr?.Buffer, tvs = tv?.Buffer;
        T scale = T.One / T.CreateChecked(Math.Max(1, size));
        Parallelism.For(b * planes, Math.Max(1, MinNormElementsPerThread / Math.Max(1, size)), (from, to) =>
        {
            for (int p = from; p < to; p++)
            {
                int q = p % planes;
                var xp = xs.AsSpan(q * size, size);
                var vp = vs.AsSpan(q * size, size);
                var op = outs.AsSpan(p * size, size);
                T xDotTv = T.Zero, txDotV = T.Zero;
                if (tvs is { } tvv)
                {
                    var tp = tvv.AsSpan(p * size, size);
                    xDotTv = TP.Dot(xp, tp) * scale;
                    TP.Subtract(tp, TP.Sum(tp) * scale, op);
                }
                else
                {
                    op.Clear();
                }
                if (txs is { } txv)
                {
                    var tp = txv.AsSpan(p * size, size);
                    txDotV = TP.Dot(tp, vp) * scale;
                    TP.MultiplyAdd(tp, -(TP.Dot(xp, vp) * scale), op, op);
                }
                TP.MultiplyAdd(xp, -(xDotTv + txDotV), op, op);
                TP.Multiply(op, rs[q], op);
                if (trs is { } trv) TP.MultiplyAdd(ys.AsSpan(q * size, size), trv[p] / rs[q], op, op);
            }
        });
        return result;
    }

    /// <summary>x̂ = (x − μ)·r and r per plane; with gamma or beta also y = γ·x̂ + β (γ = 1, β = 0 when absent).</summary>
    private static void NormalizeKernel<T>(NativeBuffer<T> x, NativeBuffer<T> xhat, NativeBuffer<T> r, NativeBuffer<T>? gamma, NativeBuffer<T>? beta, NativeBuffer<T>? y, int planes, int channels, int size, T eps)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T scale = T.One / T.CreateChecked(Math.Max(1, size));
        Parallelism.For(planes, Math.Max(1, MinNormElementsPerThread / Math.Max(1, size)), (from, to) =>
        {
            for (int p = from; p < to; p++)
            {
                var xp = x.AsSpan(p * size, size);
                var hp = xhat.AsSpan(p * size, size);
                T mean = TP.Sum(xp) * scale;
                TP.Subtract(xp, mean, hp);
                T rs = T.One / T.Sqrt(TP.SumOfSquares(hp) * scale + eps);
                TP.Multiply(hp, rs, hp);
                r[p] = rs;
                if (y is not { } yv) continue;
                var yp = yv.AsSpan(p * size, size);
                T g = gamma is { } gv ? gv[p % channels] : T.One, b = beta is { } bv ? bv[p % channels] : T.Zero;
                if (gamma is null) TP.Add(hp, b, yp);
                else
                {
                    TP.Multiply(hp, g, yp);
                    if (beta is not null) TP.Add(yp, b, yp);
                }
            }
        });
    }
}
