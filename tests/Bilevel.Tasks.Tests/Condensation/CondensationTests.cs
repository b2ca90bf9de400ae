using System.Text.Json;
using Bilevel.Hypergradients;
using Bilevel.Hypergradients.Estimators;
using Bilevel.Tasks.Condensation;
using Bilevel.Tensors;

namespace Bilevel.Tasks.Tests.Condensation;

/// <summary>Condensation on the real digits: the hypergradient is a descent direction for the synthetic images.</summary>
public sealed class CondensationTests
{
    private static CondensationProblem<double> Small(string extra = "")
        => (CondensationProblem<double>)TaskCatalog.Create<double>(TaskCatalog.Condensation, JsonDocument.Parse(
            $$"""{ "imagesPerClass": 1, "channels": 4, "depth": 2, "unrollSteps": 4, "trainSize": 500, "testSize": 200, "realBatch": 64, "learningRate": 0.1 {{extra}} }""").RootElement, seed: 5);

    [Theory]
    [InlineData("")]
    [InlineData(""", "learnLabels": true, "learnLearningRate": true""")]
    public void ReverseHypergradientMatchesFiniteDifferencesAlongItself(string extra)
    {
        using var scope = TensorScope.Begin();
        var problem = Small(extra);
        var phi = problem.InitialPhi();
        var gradient = new ReverseUnrolling().Estimate(problem, phi, outerStep: 2).Gradient;
        double norm = Math.Sqrt(Ops.SquaredNorm(gradient).Item());
        var unit = Ops.Scale(gradient, 1 / norm);
        // Small enough that the step crosses no ReLU kink among the ~30,000 pre-activations (which 1e-5 would).
        const double eps = 1e-7;
        double plus = InnerDynamics.OuterObjective(problem, Ops.Add(phi, Ops.Scale(unit, eps)), 2).Item();
        double minus = InnerDynamics.OuterObjective(problem, Ops.Sub(phi, Ops.Scale(unit, eps)), 2).Item();
        double slope = (plus - minus) / (2 * eps);
        Assert.True(Math.Abs(slope - norm) <= 1e-5 * norm, $"∇h·ĝ by central differences {slope} vs ‖∇h‖ {norm}");
        Assert.Equal(problem.OuterSize, gradient.Length);
    }

    [Fact]
    public void ForwardAndReverseUnrollingAgreeOnADirection()
    {
        using var scope = TensorScope.Begin();
        var problem = Small();
        var phi = problem.InitialPhi();
        var reverse = new ReverseUnrolling().Estimate(problem, phi, 1).Gradient;
        var v = Tensor<double>.Zeros(1, problem.OuterSize);
        var random = new CounterRandom(9, 0, "test-direction");
        random.FillGaussian(v.Span);
        var (_, tangent) = Autodiff.JvpStacked(p => [InnerDynamics.OuterObjective(problem, p[0], 1)], [phi], [v]);
        double forward = tangent[0].Item();
        double expected = System.Numerics.Tensors.TensorPrimitives.Dot<double>(reverse.Span, v.Span);
        Assert.True(Math.Abs(forward - expected) <= 1e-9 * Math.Abs(expected), $"∇h·v by forward mode {forward} vs reverse {expected}");
    }

    [Fact]
    public void OuterLossSplitsIntoPartsNoLargerThanTheSyntheticSetThatSumToIt()
    {
        using var scope = TensorScope.Begin();
        var problem = Small();
        var phi = problem.InitialPhi();
        var theta = problem.InitialTheta(3);
        // 64 real images against 10 synthetic ones: 7 parts.
        Assert.Equal(7, problem.OuterParts);
        double whole = problem.OuterLoss(theta, phi, 3).Item();
        double sum = Enumerable.Range(0, problem.OuterParts).Sum(p => problem.OuterLossPart(theta, phi, 3, p).Item());
        Assert.Equal(whole, sum, 1e-12);
        var (loss, thetaGradient, _) = OuterGradient.Of(problem, theta, phi, 3);
        var expected = Autodiff.Grad(a => problem.OuterLoss(a[0], phi, 3), theta)[0];
        Assert.Equal(whole, loss, 1e-12);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected.Span[i], thetaGradient.Span[i], 1e-12);
    }

    [Theory]
    [InlineData("""{ "imagesPerClass": 0 }""", "imagesPerClass")]
    [InlineData("""{ "depth": 9 }""", "depth")]
    [InlineData("""{ "ipc": 3 }""", "ipc")]
    public void BadConfigIsRejectedNamingTheField(string json, string field)
    {
        var error = Assert.ThrowsAny<ArgumentException>(() => TaskCatalog.Create<float>(TaskCatalog.Condensation, JsonDocument.Parse(json).RootElement, 1));
        Assert.Contains(field, error.Message, StringComparison.Ordinal);
    }
}
