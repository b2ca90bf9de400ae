using System.Numerics;

namespace Bilevel.Tensors;

public static partial class Ops
{
    /// <summary>
    /// Instance normalisation of x [N, C, H, W]: each sample's channel is centred and scaled by 1/√(var + eps) over
    /// H×W (biased variance), then scaled by gamma [C] and shifted by beta [C] when given. Composed of primitives,
    /// so its derivatives (of any order this engine takes) come from theirs.
    /// </summary>
    public static Tensor<T> InstanceNorm<T>(Tensor<T> x, Tensor<T>? gamma = null, Tensor<T>? beta = null, double eps = 1e-5)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        const string op = "instance-norm";
        if (x.Rank != 4)
            throw new ArgumentException($"{op}: x must have shape [N, C, H, W], got {x.Shape}.", nameof(x));
        int c = x.Shape[1];
        if (gamma is not null && (gamma.Rank != 1 || gamma.Shape[0] != c))
            throw new ArgumentException($"{op}: gamma must have shape [{c}] (one per channel of x {x.Shape}), got {gamma.Shape}.", nameof(gamma));
        if (beta is not null && (beta.Rank != 1 || beta.Shape[0] != c))
            throw new ArgumentException($"{op}: beta must have shape [{c}] (one per channel of x {x.Shape}), got {beta.Shape}.", nameof(beta));
        if (!(eps >= 0))
            throw new ArgumentException($"{op}: eps must be ≥ 0, got {eps} (x {x.Shape}).", nameof(eps));
        int[] spatial = [2, 3];
        var centred = Sub(x, Mean(x, spatial, keepDims: true));
        var variance = Mean(Mul(centred, centred), spatial, keepDims: true);
        var y = Mul(centred, Rsqrt(AddScalar(variance, T.CreateChecked(eps))));
        if (gamma is not null) y = Mul(y, Reshape(gamma, [1, c, 1, 1]));
        if (beta is not null) y = Add(y, Reshape(beta, [1, c, 1, 1]));
        return y;
    }
}
