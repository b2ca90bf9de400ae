using System.Numerics;
using Bilevel.Hypergradients.Internal;
using Bilevel.Tensors;

namespace Bilevel.Hypergradients.Estimators;

/// <summary>
/// (FG)²U-ZO: (1/b) Σ_i d_i v_i with d_i the finite difference [h(φ+μv_i) − h(φ)]/μ (forward) or
/// [h(φ+μv_i) − h(φ−μv_i)]/(2μ) (central). Only evaluations of h are needed, so the inner solver may be a black box;
/// every evaluation uses the same inner randomness (common random numbers), which keeps the differences small.
/// </summary>
public sealed class ZerothOrder : IHypergradientEstimator
{
    public ZerothOrder(int directions, double mu, bool central = false, DirectionDistribution distribution = DirectionDistribution.Rademacher)
    {
        if (directions <= 0) throw new ArgumentException($"fg2u-zo: directions (b) must be ≥ 1, got {directions}.", nameof(directions));
        if (!(mu > 0) || !double.IsFinite(mu)) throw new ArgumentException($"fg2u-zo: mu must be a positive number, got {mu}.", nameof(mu));
        Directions = directions;
        Mu = mu;
        Central = central;
        Distribution = distribution;
    }

    public int Directions { get; }

    public double Mu { get; }

    public bool Central { get; }

    public DirectionDistribution Distribution { get; }

    public string Name => $"fg2u-zo(b={Directions}, mu={Mu}{(Central ? ", central" : "")})";

    public HypergradientEstimate<T> Estimate<T>(IBilevelProblem<T> problem, Tensor<T> phi, long outerStep) where T : unmanaged, IFloatingPointIeee754<T>
        => EstimateBlackBox(p => InnerDynamics.OuterObjective(problem, p, outerStep).ItemAsDouble(), phi, problem.Seed, outerStep);

    /// <summary>The estimate for any objective h given only as evaluations (e.g. a numerical PDE solver).</summary>
    public HypergradientEstimate<T> EstimateBlackBox<T>(Func<Tensor<T>, double> objective, Tensor<T> phi, ulong seed, long outerStep) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(objective);
        var meter = new CostMeter();
        int n = phi.Length;
        var v = Estimators.Directions.Sample<T>(Distribution, Directions, n, new CounterRandom(seed, outerStep, "fg2u-zo-directions"));
        double center = objective(phi);
        var d = new double[Directions];
        var mu = T.CreateChecked(Mu);
        for (int i = 0; i < Directions; i++)
        {
            using var scope = TensorScope.Begin();
            var vi = Ops.Reshape(Ops.Slice(v, 0, i, 1), phi.Shape);
            double plus = objective(Ops.Add(phi, Ops.Scale(vi, mu)));
            d[i] = Central ? (plus - objective(Ops.Sub(phi, Ops.Scale(vi, mu)))) / (2 * Mu) : (plus - center) / Mu;
        }
        meter.InnerPasses = 1 + Directions * (Central ? 2 : 1);
        var gradient = DirectionalDerivatives.Combine(d, v, 1.0 / Directions);
        return new HypergradientEstimate<T>(Ops.Reshape(gradient, phi.Shape), center, meter.Report());
    }
}
