using System.Diagnostics;
using System.Numerics;
using Bilevel.Hypergradients;
using Bilevel.Tensors;

namespace Bilevel.Tasks.Pde;

/// <summary>
/// The finite-difference reference ("fd-central"): ∂h/∂φ_i ≈ [h(φ + εe_i) − h(φ − εe_i)] / (2ε) for every
/// coordinate, 2N + 1 evaluations of h = f(θ_T(φ), φ). Deterministic and accurate to O(ε²) for smooth h; practical
/// for small N. Like (FG)²U-ZO it needs only evaluations, so it applies to black-box inner solvers, and it is the
/// reference the PDE task's diagnostics compare (FG)²U-ZO with.
/// </summary>
public sealed class CentralDifferences : IHypergradientEstimator
{
    public CentralDifferences(double epsilon = 1e-4)
    {
        if (!(epsilon > 0) || !double.IsFinite(epsilon)) throw new ArgumentException($"fd-central: epsilon must be a positive number, got {epsilon}.", nameof(epsilon));
        Epsilon = epsilon;
    }

    public double Epsilon { get; }

    public string Name => $"fd-central(eps={Epsilon})";

    public HypergradientEstimate<T> Estimate<T>(IBilevelProblem<T> problem, Tensor<T> phi, long outerStep) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(phi);
        long start = Stopwatch.GetTimestamp();
        TensorMemory.ResetPeak();
        long baseline = TensorMemory.LiveBytes;
        double center = InnerDynamics.OuterObjective(problem, phi, outerStep).ItemAsDouble();
        int n = phi.Length;
        var gradient = new T[n];
        var step = T.CreateChecked(Epsilon);
        for (int i = 0; i < n; i++)
        {
            using var scope = TensorScope.Begin();
            var plus = Tensor<T>.FromSpan(phi.Span, phi.Shape);
            var minus = Tensor<T>.FromSpan(phi.Span, phi.Shape);
            plus.Span[i] += step;
            minus.Span[i] -= step;
            double up = InnerDynamics.OuterObjective(problem, plus, outerStep).ItemAsDouble();
            double down = InnerDynamics.OuterObjective(problem, minus, outerStep).ItemAsDouble();
            gradient[i] = T.CreateChecked((up - down) / (2 * Epsilon));
        }
        var cost = new CostReport(Stopwatch.GetElapsedTime(start), TensorMemory.PeakBytes - baseline, 0, 2 * n + 1);
        return new HypergradientEstimate<T>(Tensor<T>.FromSpan(gradient, phi.Shape), center, cost);
    }
}
