using Bilevel.Hypergradients;
using Bilevel.Tasks.Pde;
using Bilevel.Tensors;

namespace Bilevel.Tasks.Tests.Peer;

/// <summary>
/// The PDE task (viscous Burgers, finite differences + RK4, used as a black box) against a PyTorch re-implementation of
/// the same scheme on the same grid, tests/peer/task_burgers.py: the solution at every observation time and the
/// misfit agree within 1e-12 relative; the task's derivative of the misfit with respect to φ, which comes from
/// evaluations only (the fd-central reference), agrees with PyTorch's autograd through its solver within 1e-8.
/// </summary>
public sealed class BurgersPeerCrossCheckTests
{
    /// <summary>The solver is deterministic and both sides do the same arithmetic up to rounding.</summary>
    private const double SolverTolerance = 1e-12;

    /// <summary>
    /// Central differences with step ε in φ err by about ε²/6·|h‴/h′| relative plus rounding of order 1e-16·|h/h′|/ε,
    /// both near 1e-11 at ε = 1e-5 (2e-11 measured); 1e-8 leaves room for both and still catches a wrong derivative.
    /// </summary>
    private const double DerivativeTolerance = 1e-8;

    private const double Epsilon = 1e-5;

    public static TheoryData<BurgersConfig> Configs { get; } = new()
    {
        // The task's defaults: 64 points, order 4, 500 RK4 steps to t = 2, φ = [log ν].
        new BurgersConfig(),
        new BurgersConfig { GridPoints = 32, Order = 2, TimeStep = 0.01, ObservationTimes = [0.25, 0.5, 1], LearnAdvection = true, InitialAdvection = 0.6 },
    };

    [Theory]
    [MemberData(nameof(Configs))]
    public void SolutionMisfitAndItsDerivativeMatchPyTorch(BurgersConfig config)
    {
        using var scope = TensorScope.Begin();
        var problem = config.Build<double>(seed: 19);
        var phi = problem.InitialPhi();
        var trajectory = problem.Solve(problem.Coefficients(phi)).SelectMany(u => u).ToArray();
        double misfit = InnerDynamics.OuterObjective(problem, phi, outerStep: 0).Item();
        var derivative = new CentralDifferences(Epsilon).Estimate(problem, phi, outerStep: 0);

        using var peer = new PeerFolder();
        peer.WriteSpec(new
        {
            config.GridPoints,
            config.Order,
            config.TimeStep,
            config.ObservationTimes,
            config.Viscosity,
            config.Offset,
            config.MinViscosity,
            config.MaxViscosity,
            config.LearnAdvection,
            config.MaxAdvection,
            Sensors = problem.Sensors.Count,
        });
        peer.Write("phi.bin", phi.ToArray());
        peer.Write("sensors.bin", problem.Sensors.ToArray());
        peer.Write("observations.bin", problem.Observations.SelectMany(row => row).ToArray());
        peer.Run("task_burgers.py");

        PeerAssert.Close("u(t_k, x_j) at every observation time", peer.Read("trajectory.bin", trajectory.Length), trajectory, SolverTolerance);
        double torchMisfit = peer.ReadScalar("misfit.bin");
        PeerAssert.Close("misfit h(φ)", torchMisfit, misfit, SolverTolerance);
        PeerAssert.Close("fd-central's h(φ)", torchMisfit, derivative.OuterLoss, SolverTolerance);
        PeerAssert.Close("∂h/∂φ (fd-central vs autograd)", peer.Read("misfit_grad.bin", problem.OuterSize), derivative.Gradient.ToArray(), DerivativeTolerance);
    }
}
