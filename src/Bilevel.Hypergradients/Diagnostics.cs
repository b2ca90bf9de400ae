using System.Numerics;
using Bilevel.Tensors;

namespace Bilevel.Hypergradients;

/// <summary>How good one estimate was, measured against a reference estimator at the same φ and outer step.</summary>
public sealed record DiagnosticRecord(long OuterStep, double Cosine, double RelativeError, double? DirectionVariance, long PeakBytes, TimeSpan Elapsed);

/// <summary>
/// Every <see cref="Every"/> outer steps, compares the estimate with a reference (RGU, or FGU for small N):
/// cosine similarity and relative error, with the estimate's variance across directions, peak memory and time.
/// </summary>
public sealed class Diagnostics
{
    public Diagnostics(IHypergradientEstimator reference, int every)
    {
        ArgumentNullException.ThrowIfNull(reference);
        if (every < 1) throw new ArgumentException($"diagnostics: interval D must be ≥ 1, got {every}.", nameof(every));
        Reference = reference;
        Every = every;
    }

    public IHypergradientEstimator Reference { get; }

    public int Every { get; }

    public DiagnosticRecord? Observe<T>(IBilevelProblem<T> problem, Tensor<T> phi, long outerStep, HypergradientEstimate<T> estimate) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (outerStep % Every != 0) return null;
        using var scope = TensorScope.Begin();
        var reference = Reference.Estimate(problem, phi, outerStep).Gradient;
        return new DiagnosticRecord(outerStep, Vectors.Cosine(estimate.Gradient, reference), Vectors.RelativeError(estimate.Gradient, reference),
            estimate.DirectionVariance, estimate.Cost.PeakBytes, estimate.Cost.Elapsed);
    }
}
