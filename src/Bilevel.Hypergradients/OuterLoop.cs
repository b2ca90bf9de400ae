using System.Numerics;
using Bilevel.Nn.Optimizers;
using Bilevel.Tensors;

namespace Bilevel.Hypergradients;

/// <summary>A hypergradient that is NaN or infinite: reported with the outer step, never applied.</summary>
public sealed class HypergradientDivergenceException(long outerStep, string reason)
    : Exception($"diverged at outer step {outerStep}: {reason}")
{
    public long OuterStep { get; } = outerStep;

    public string Reason { get; } = reason;
}

/// <summary>What one outer step did.</summary>
public sealed record OuterStepResult(long OuterStep, double OuterLoss, double GradientNorm, CostReport Cost, DiagnosticRecord? Diagnostic, Phase? Phase);

/// <summary>
/// The outer loop, one step at a time so that its caller (a trial runner) can checkpoint between steps:
/// estimate ∇h(φ), refuse it if not finite, update φ in place with the outer optimizer.
/// </summary>
public sealed class OuterLoop<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public OuterLoop(IBilevelProblem<T> problem, IHypergradientEstimator estimator, OuterOptimizer optimizer, Diagnostics? diagnostics = null)
    {
        (Problem, Estimator, Optimizer, Diagnostics) = (problem, estimator, optimizer, diagnostics);
    }

    public IBilevelProblem<T> Problem { get; }

    public IHypergradientEstimator Estimator { get; }

    public OuterOptimizer Optimizer { get; }

    public Diagnostics? Diagnostics { get; }

    public OuterStepResult Step(Tensor<T> phi, long outerStep)
    {
        using var scope = TensorScope.Begin();
        var estimate = Estimator.Estimate(Problem, phi, outerStep);
        if (!estimate.IsFinite)
            throw new HypergradientDivergenceException(outerStep, double.IsFinite(estimate.OuterLoss)
                ? $"{Estimator.Name} returned a non-finite hypergradient (outer loss {estimate.OuterLoss})"
                : $"outer loss is {estimate.OuterLoss}");
        var diagnostic = Diagnostics?.Observe(Problem, phi, outerStep, estimate);
        Optimizer.Step(phi, estimate.Gradient);
        double norm = Math.Sqrt(SquaredNorm(estimate.Gradient));
        return new OuterStepResult(outerStep, estimate.OuterLoss, norm, estimate.Cost, diagnostic, (Estimator as TwoPhaseSchedule)?.Phase);
    }

    private static double SquaredNorm(Tensor<T> g)
    {
        double s = 0;
        foreach (var x in g.Span) s += double.CreateChecked(x * x);
        return s;
    }
}
