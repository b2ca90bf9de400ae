using System.Numerics;
using Bilevel.Tensors.Internal;

namespace Bilevel.Tensors;

public static partial class Ops
{
    /// <summary>
    /// log softmax along <paramref name="axis"/>: z − log Σ exp(z) with z = x − max(x), the maximum a constant
    /// (any shift gives the same value; this one keeps exp from overflowing and z exact near the maximum).
    /// </summary>
    public static Tensor<T> LogSoftmax<T>(Tensor<T> x, int axis = -1) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int a = x.Shape.Axis(axis, "log-softmax");
        var z = ShiftByMax(x, a);
        return Sub(z, Log(Sum(Exp(z), [a], keepDims: true)));
    }

    /// <summary>softmax along <paramref name="axis"/>: exp(z) / Σ exp(z) with z = x − max(x).</summary>
    public static Tensor<T> Softmax<T>(Tensor<T> x, int axis = -1) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int a = x.Shape.Axis(axis, "softmax");
        var e = Exp(ShiftByMax(x, a));
        return Div(e, Sum(e, [a], keepDims: true));
    }

    /// <summary>x minus its maximum along <paramref name="axis"/>, the maximum held constant (0 where it is not finite).</summary>
    private static Tensor<T> ShiftByMax<T>(Tensor<T> x, int axis) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Tensor<T> shift;
        using (AutodiffMode.PlainArithmetic()) shift = Max(x, [axis], keepDims: true);
        foreach (ref var s in shift.Span) if (!T.IsFinite(s)) s = T.Zero;
        return Sub(x, shift);
    }

    /// <summary>
    /// Mean over the batch of wᵢ·(logsumexp(zᵢ) − z[i, labels[i]]) for logits z [N, K] and class indices in [0, K);
    /// wᵢ = 1 unless <paramref name="sampleWeights"/> [N] is given.
    /// </summary>
    public static Tensor<T> CrossEntropy<T>(Tensor<T> logits, int[] labels, Tensor<T>? sampleWeights = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        const string op = "cross-entropy";
        ArgumentNullException.ThrowIfNull(labels);
        var (n, k) = CrossEntropyShape(op, logits, sampleWeights);
        if (labels.Length != n)
            throw new ArgumentException($"{op}: {labels.Length} labels for logits {logits.Shape} ({n} samples).", nameof(labels));
        var positions = new int[n];
        for (int i = 0; i < n; i++)
        {
            if ((uint)labels[i] >= (uint)k)
                throw new ArgumentException($"{op}: label {labels[i]} at index {i} is outside [0, {k}) for logits {logits.Shape}.", nameof(labels));
            positions[i] = i * k + labels[i];
        }
        var picked = Gather(Reshape(logits, [n * k]), 0, positions);
        return WeightedMean(Sub(LogSumExp(logits, [1]), picked), sampleWeights);
    }

    /// <summary>
    /// Mean over the batch of wᵢ·(logsumexp(zᵢ) − ⟨zᵢ, yᵢ⟩) for logits z [N, K] and soft labels y [N, K] (rows that
    /// sum to 1 give the cross-entropy of the distributions); wᵢ = 1 unless <paramref name="sampleWeights"/> [N] is given.
    /// </summary>
    public static Tensor<T> CrossEntropy<T>(Tensor<T> logits, Tensor<T> softLabels, Tensor<T>? sampleWeights = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        const string op = "cross-entropy";
        ArgumentNullException.ThrowIfNull(softLabels);
        CrossEntropyShape(op, logits, sampleWeights);
        if (softLabels.Shape != logits.Shape)
            throw new ArgumentException($"{op}: softLabels {softLabels.Shape} must have the shape of logits {logits.Shape}.", nameof(softLabels));
        return WeightedMean(Sub(LogSumExp(logits, [1]), Sum(Mul(logits, softLabels), [1])), sampleWeights);
    }

    private static (int N, int K) CrossEntropyShape<T>(string op, Tensor<T> logits, Tensor<T>? sampleWeights) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(logits);
        if (logits.Rank != 2)
            throw new ArgumentException($"{op}: logits must have shape [N, K], got {logits.Shape}.", nameof(logits));
        int n = logits.Shape[0], k = logits.Shape[1];
        if (k == 0)
            throw new ArgumentException($"{op}: logits {logits.Shape} have no classes.", nameof(logits));
        if (sampleWeights is not null && (sampleWeights.Rank != 1 || sampleWeights.Shape[0] != n))
            throw new ArgumentException($"{op}: sampleWeights must have shape [{n}] (one per row of logits {logits.Shape}), got {sampleWeights.Shape}.", nameof(sampleWeights));
        return (n, k);
    }

    private static Tensor<T> WeightedMean<T>(Tensor<T> perSample, Tensor<T>? weights) where T : unmanaged, IFloatingPointIeee754<T>
        => Mean(weights is null ? perSample : Mul(perSample, weights));
}
