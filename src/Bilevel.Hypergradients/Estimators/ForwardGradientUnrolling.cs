using System.Numerics;
using Bilevel.Hypergradients.Internal;
using Bilevel.Tensors;

namespace Bilevel.Hypergradients.Estimators;

/// <summary>
/// (FG)²U: (1/b) Σ_i (∇h·v_i) v_i with random v_i, E[v vᵀ] = I. Unbiased; memory O(M) per direction in flight,
/// independent of the unroll depth T; cost b forward-over-reverse trajectories, batched <see cref="ChunkSize"/> at a
/// time and spread over <see cref="Threads"/> threads.
/// </summary>
public sealed class ForwardGradientUnrolling : IHypergradientEstimator
{
    public ForwardGradientUnrolling(int directions, DirectionDistribution distribution = DirectionDistribution.Rademacher, int? chunkSize = null, int threads = 1)
    {
        if (directions <= 0) throw new ArgumentException($"fg2u: directions (b) must be ≥ 1, got {directions}.", nameof(directions));
        if (chunkSize is <= 0) throw new ArgumentException($"fg2u: chunkSize must be ≥ 1, got {chunkSize}.", nameof(chunkSize));
        if (threads <= 0) throw new ArgumentException($"fg2u: threads must be ≥ 1, got {threads}.", nameof(threads));
        Directions = directions;
        Distribution = distribution;
        ChunkSize = chunkSize ?? (threads > 1 ? (directions + threads - 1) / threads : directions);
        Threads = threads;
    }

    public int Directions { get; }

    public DirectionDistribution Distribution { get; }

    /// <summary>Directions carried by one trajectory; smaller chunks trade time for memory.</summary>
    public int ChunkSize { get; }

    public int Threads { get; }

    public string Name => $"fg2u(b={Directions}, {Distribution.ToString().ToLowerInvariant()})";

    public HypergradientEstimate<T> Estimate<T>(IBilevelProblem<T> problem, Tensor<T> phi, long outerStep) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var meter = new CostMeter();
        var v = Estimators.Directions.Sample<T>(Distribution, Directions, problem.OuterSize, new CounterRandom(problem.Seed, outerStep, "fg2u-directions"));
        var (d, value) = DirectionalDerivatives.Compute(problem, phi, outerStep, v, ChunkSize, Threads);
        var gradient = DirectionalDerivatives.Combine(d, v, 1.0 / Directions);
        meter.HvpCount = Directions * problem.UnrollSteps;
        meter.InnerPasses = (Directions + ChunkSize - 1) / ChunkSize;
        return new HypergradientEstimate<T>(gradient, value, meter.Report(), DirectionVariance(d, v, gradient));
    }

    /// <summary>tr Cov(d_i v_i) = mean ‖d_i v_i − ḡ‖², unbiased over the b samples (b ≥ 2).</summary>
    private static double? DirectionVariance<T>(double[] d, Tensor<T> v, Tensor<T> mean) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int b = d.Length, n = mean.Length;
        if (b < 2) return null;
        var vs = v.Span;
        var ms = mean.Span;
        double total = 0;
        for (int i = 0; i < b; i++)
            for (int j = 0; j < n; j++)
            {
                double e = d[i] * double.CreateChecked(vs[i * n + j]) - double.CreateChecked(ms[j]);
                total += e * e;
            }
        return total / (b - 1);
    }
}
