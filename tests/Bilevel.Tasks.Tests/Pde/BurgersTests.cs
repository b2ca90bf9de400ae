using System.Text.Json;
using Bilevel.Hypergradients;
using Bilevel.Hypergradients.Estimators;
using Bilevel.Nn.Optimizers;
using Bilevel.Tasks.Pde;
using Bilevel.Tensors;

namespace Bilevel.Tasks.Tests.Pde;

/// <summary>The Burgers solver against the exact Cole–Hopf solution, and viscosity recovery with (FG)²U-ZO through it as a black box.</summary>
public sealed class BurgersTests
{
    private static BurgersProblem<double> Problem(string json, ulong seed = 7)
        => (BurgersProblem<double>)TaskCatalog.Create<double>(TaskCatalog.PdeBurgers, JsonDocument.Parse(json).RootElement, seed);

    [Theory]
    [InlineData(2, new[] { 32, 64, 128 })]
    [InlineData(4, new[] { 32, 64, 128 })]
    public void SolverConvergesAtItsOrderToTheColeHopfSolution(int order, int[] resolutions)
    {
        var exact = new ColeHopf(Viscosity: 0.2, Offset: 1.5);
        const double time = 1.0;
        var errors = new double[resolutions.Length];
        for (int r = 0; r < resolutions.Length; r++)
        {
            var solver = new BurgersSolver(resolutions[r], order);
            var grid = solver.Grid();
            var u0 = exact.Sample(grid, 0);
            double maxU = u0.Max(Math.Abs);
            // A small step keeps RK4's O(Δt⁴) error far below the spatial one.
            double dt = 0.1 * solver.MaxStableTimeStep(exact.Viscosity, maxU);
            var u = solver.Solve(u0, exact.Viscosity, 1.0, [time], dt)[0];
            var reference = exact.Sample(grid, time);
            errors[r] = Math.Sqrt(u.Zip(reference, (a, b) => (a - b) * (a - b)).Sum() / u.Length);
        }
        for (int r = 1; r < resolutions.Length; r++)
        {
            double observed = Math.Log2(errors[r - 1] / errors[r]);
            Assert.True(Math.Abs(observed - order) < 0.3,
                $"order {order}: observed {observed:F2} between N = {resolutions[r - 1]} and {resolutions[r]} (errors {string.Join(", ", errors.Select(e => e.ToString("E2")))})");
        }
    }

    [Fact]
    public void SolverRefusesAnUnstableStepAndStaysBoundedAtTheLimit()
    {
        var exact = new ColeHopf(0.5, 1.2);
        var solver = new BurgersSolver(64, 2);
        var u0 = exact.Sample(solver.Grid(), 0);
        double limit = solver.MaxStableTimeStep(exact.Viscosity, u0.Max(Math.Abs));
        var error = Assert.Throws<ArgumentException>(() => solver.Solve(u0, exact.Viscosity, 1, [1.0], 1.5 * limit));
        Assert.Contains("stability limit", error.Message, StringComparison.Ordinal);
        var u = solver.Solve(u0, exact.Viscosity, 1, [5.0], 0.99 * limit)[0];
        Assert.True(u.Max(Math.Abs) <= u0.Max(Math.Abs) + 1e-9, "max|u| grew: the maximum principle is violated");
    }

    [Fact]
    public void ZerothOrderRecoversTheViscosityFromNoisyObservations()
    {
        using var scope = TensorScope.Begin();
        var problem = Problem("""{ "noise": 0.02, "initialViscosity": 0.4 }""");
        var phi = problem.InitialPhi();
        var loop = new OuterLoop<double>(problem, new ZerothOrder(directions: 1, mu: 1e-3, central: true), new OuterAdam(0.08));
        for (int k = 0; k < 80; k++) loop.Step(phi, k);
        var report = problem.Evaluate(phi);
        Assert.True(report.ViscosityError < 0.03, $"ν = {report.Coefficients.Viscosity} vs true {problem.Config.Viscosity} (relative error {report.ViscosityError:P2})");
        Assert.True(report.SolutionError < 0.01, $"relative L2 error of u is {report.SolutionError:P2}");
    }

    [Fact]
    public void ZerothOrderAgreesWithTheFiniteDifferenceReferenceOnTwoCoefficients()
    {
        using var scope = TensorScope.Begin();
        var problem = Problem("""{ "learnAdvection": true, "initialAdvection": 0.6, "initialViscosity": 0.2 }""");
        var phi = problem.InitialPhi();
        var reference = new CentralDifferences(1e-5).Estimate(problem, phi, 0).Gradient;
        var estimate = new ZerothOrder(directions: 64, mu: 1e-4, central: true).Estimate(problem, phi, 0).Gradient;
        double cosine = Vectors.Cosine(estimate, reference);
        Assert.True(cosine > 0.95, $"cosine between fg2u-zo and fd-central is {cosine}");

        // Both coefficients come back from the same data (two-phase: one direction, then four).
        var schedule = new TwoPhaseSchedule(new ZerothOrder(1, 1e-3, central: true), new ZerothOrder(4, 1e-3, central: true), new SwitchAtStep(50));
        var loop = new OuterLoop<double>(problem, schedule, new OuterAdam(0.08));
        for (int k = 0; k < 100; k++) loop.Step(phi, k);
        var report = problem.Evaluate(phi);
        Assert.True(report.CoefficientError < 0.05, $"(ν, c) = {report.Coefficients} (relative error {report.CoefficientError:P2})");
    }

    [Fact]
    public void DerivativeBasedEstimatorsAreRefusedByTheBlackBox()
    {
        using var scope = TensorScope.Begin();
        var problem = Problem("{}");
        var phi = problem.InitialPhi();
        Assert.Throws<NotSupportedException>(() => new ForwardGradientUnrolling(2).Estimate(problem, phi, 0));
        Assert.Throws<NotSupportedException>(() => new HessianFree().Estimate(problem, phi, 0));
        Assert.Throws<NotSupportedException>(() => new ReverseUnrolling().Estimate(problem, phi, 0));
    }

    [Theory]
    [InlineData("""{ "timeStep": 0.05 }""", "timeStep")]
    [InlineData("""{ "gridPoints": 512 }""", "timeStep")]
    [InlineData("""{ "gridPoints": 4 }""", "gridPoints")]
    [InlineData("""{ "order": 3 }""", "order")]
    [InlineData("""{ "viscosity": 2 }""", "viscosity")]
    [InlineData("""{ "observationTimes": [1, 0.5] }""", "observationTimes[1]")]
    [InlineData("""{ "sensors": 100 }""", "sensors")]
    [InlineData("""{ "noise": -0.1 }""", "noise")]
    [InlineData("""{ "offset": 1 }""", "offset")]
    public void BadConfigIsRejectedNamingTheField(string json, string field)
    {
        var error = Assert.Throws<Config.TaskConfigException>(() => TaskCatalog.Create<double>(TaskCatalog.PdeBurgers, JsonDocument.Parse(json).RootElement, 1));
        Assert.Equal(field, error.Field);
        Assert.Contains($"'{field}'", error.Message, StringComparison.Ordinal);
        Assert.Contains("allowed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownFieldIsRejectedNamingIt()
    {
        var error = Assert.Throws<Config.TaskConfigException>(() => TaskCatalog.Create<double>(TaskCatalog.PdeBurgers, JsonDocument.Parse("""{ "reynolds": 100 }""").RootElement, 1));
        Assert.Contains("reynolds", error.Field, StringComparison.Ordinal);
        Assert.Contains("reynolds", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnstableTimeStepMessageGivesTheAllowedRange()
    {
        var error = Assert.Throws<Config.TaskConfigException>(() => TaskCatalog.Create<double>(TaskCatalog.PdeBurgers, JsonDocument.Parse("""{ "timeStep": 0.05 }""").RootElement, 1));
        double limit = BurgersConfig.StabilitySafety * new BurgersConfig().MaxStableTimeStep();
        Assert.Contains($"(0, {limit:G4}]", error.Message, StringComparison.Ordinal);
    }
}
