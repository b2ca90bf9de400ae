using Bilevel.Hypergradients.Estimators;
using Bilevel.Hypergradients.Problems;
using Bilevel.Nn.Optimizers;
using Bilevel.Tensors;

namespace Bilevel.Hypergradients.Tests;

/// <summary>The outer loop descends, records diagnostics, and refuses non-finite hypergradients.</summary>
public sealed class OuterLoopTests
{
    [Theory]
    [InlineData("sgd")]
    [InlineData("momentum")]
    [InlineData("adam")]
    public void OuterLossDecreases(string optimizer)
    {
        using var scope = TensorScope.Begin();
        OuterOptimizer outer = optimizer switch
        {
            "sgd" => new OuterSgd(0.1),
            "momentum" => new OuterMomentum(0.05, 0.5),
            _ => new OuterAdam(0.05),
        };
        var loop = new OuterLoop<double>(Quadratic.Problem(steps: 10), new ReverseUnrolling(), outer);
        var phi = Quadratic.PhiTensor();
        var losses = Enumerable.Range(0, 40).Select(k => loop.Step(phi, k).OuterLoss).ToArray();
        Assert.True(losses[^1] < 0.8 * losses[0], $"{optimizer}: outer loss went from {losses[0]} to {losses[^1]}");
    }

    [Fact]
    public void DiagnosticsCompareWithTheReferenceEveryDSteps()
    {
        using var scope = TensorScope.Begin();
        var loop = new OuterLoop<double>(Quadratic.Problem(steps: 10), new ReverseUnrolling(truncation: 10), new OuterSgd(0.05),
            new Diagnostics(new ForwardUnrolling(), every: 2));
        var phi = Quadratic.PhiTensor();
        var diagnostics = Enumerable.Range(0, 4).Select(k => loop.Step(phi, k).Diagnostic).ToArray();
        Assert.Null(diagnostics[1]);
        Assert.NotNull(diagnostics[2]);
        Assert.InRange(diagnostics[0]!.Cosine, 1 - 1e-12, 1 + 1e-12);
        Assert.InRange(diagnostics[0]!.RelativeError, 0, 1e-9);
    }

    [Fact]
    public void ProjectionKeepsPhiInsideItsBounds()
    {
        using var scope = TensorScope.Begin();
        var loop = new OuterLoop<double>(Quadratic.Problem(steps: 5), new ReverseUnrolling(), new OuterSgd(10, Projection.UnitInterval));
        var phi = Quadratic.PhiTensor();
        loop.Step(phi, 0);
        Assert.All(phi.ToArray(), x => Assert.InRange(x, 0, 1));
    }

    [Fact]
    public void DivergenceIsReportedWithTheOuterStep()
    {
        using var scope = TensorScope.Begin();
        // η = 3 with eigenvalues up to 4: the inner iteration multiplies by up to 11 per step and overflows to ∞.
        var problem = new QuadraticProblem<double>(Quadratic.M, Quadratic.N, 400, new Sgd(), learningRate: 3, seed: 1);
        var loop = new OuterLoop<double>(problem, new ForwardGradientUnrolling(2), new OuterSgd(0.1));
        var phi = Quadratic.PhiTensor();
        var before = phi.ToArray();
        var error = Assert.Throws<HypergradientDivergenceException>(() => loop.Step(phi, 7));
        Assert.Equal(7, error.OuterStep);
        Assert.Contains("outer step 7", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, phi.ToArray());
    }
}
