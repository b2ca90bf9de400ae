using System.Numerics;
using Bilevel.Hypergradients.Internal;
using Bilevel.Tensors;

namespace Bilevel.Hypergradients.Estimators;

/// <summary>
/// FGU: forward unrolling of the full Jacobian dθ_T/dφ, one tangent column per outer variable (the unit
/// directions). Exact; memory O(M·N), so practical for small N.
/// </summary>
public sealed class ForwardUnrolling : IHypergradientEstimator
{
    public ForwardUnrolling(int? chunkSize = null, int threads = 1)
    {
        if (chunkSize is <= 0) throw new ArgumentException($"fgu: chunkSize must be ≥ 1, got {chunkSize}.", nameof(chunkSize));
        if (threads <= 0) throw new ArgumentException($"fgu: threads must be ≥ 1, got {threads}.", nameof(threads));
        ChunkSize = chunkSize;
        Threads = threads;
    }

    public int? ChunkSize { get; }

    public int Threads { get; }

    public string Name => "fgu";

    public HypergradientEstimate<T> Estimate<T>(IBilevelProblem<T> problem, Tensor<T> phi, long outerStep) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var meter = new CostMeter();
        int n = problem.OuterSize;
        var identity = Tensor<T>.Zeros(n, n);
        for (int i = 0; i < n; i++) identity.Span[i * n + i] = T.One;
        int chunk = ChunkSize ?? (n + Threads - 1) / Threads;
        var (d, value) = DirectionalDerivatives.Compute(problem, phi, outerStep, identity, chunk, Threads);
        meter.HvpCount = n * problem.UnrollSteps;
        meter.InnerPasses = (n + chunk - 1) / chunk;
        return new HypergradientEstimate<T>(Tensor<T>.FromSpan(d.Select(T.CreateChecked).ToArray(), new Shape(n)), value, meter.Report());
    }
}
