using Bilevel.Hypergradients.Estimators;
using Bilevel.Tensors;

namespace Bilevel.Hypergradients.Tests;

/// <summary>RGU, TRGU(T), checkpointed RGU and FGU equal the closed-form T-step hypergradient.</summary>
public sealed class ExactEstimatorTests
{
    public static TheoryData<double> Momenta => new() { 0.0, Quadratic.Mu };

    [Theory]
    [MemberData(nameof(Momenta))]
    public void ReverseUnrollingMatchesClosedForm(double momentum)
    {
        using var scope = TensorScope.Begin();
        var problem = Quadratic.Problem(steps: 15, momentum);
        var estimate = new ReverseUnrolling().Estimate(problem, Quadratic.PhiTensor(), 0);
        Assert.InRange(Quadratic.RelativeError(estimate.Gradient.Span, Quadratic.Exact(problem, momentum)), 0, 1e-9);
        Assert.Equal(15, estimate.Cost.HvpCount);
    }

    [Theory]
    [MemberData(nameof(Momenta))]
    public void ForwardUnrollingMatchesClosedForm(double momentum)
    {
        using var scope = TensorScope.Begin();
        var problem = Quadratic.Problem(steps: 15, momentum);
        var estimate = new ForwardUnrolling().Estimate(problem, Quadratic.PhiTensor(), 0);
        Assert.InRange(Quadratic.RelativeError(estimate.Gradient.Span, Quadratic.Exact(problem, momentum)), 0, 1e-9);
    }

    /// <summary>
    /// Chunks of directions in rounds over threads: the first round waits for ∂f/∂θ, later chunks use it as they end;
    /// N = 5 directions in chunks of 2 on 2 threads leave a second round of one. With no inner steps θ_T carries no
    /// tangent and the estimate is ∂f/∂φ alone.
    /// </summary>
    [Theory]
    [InlineData(15, 2, 2)]
    [InlineData(15, 1, 3)]
    [InlineData(15, 2, 1)]
    [InlineData(0, 2, 2)]
    public void ForwardUnrollingInChunksOverThreadsMatchesClosedForm(int steps, int chunkSize, int threads)
    {
        using var scope = TensorScope.Begin();
        var problem = Quadratic.Problem(steps, Quadratic.Mu);
        var estimate = new ForwardUnrolling(chunkSize, threads).Estimate(problem, Quadratic.PhiTensor(), 0);
        Assert.InRange(Quadratic.RelativeError(estimate.Gradient.Span, Quadratic.Exact(problem, Quadratic.Mu)), 0, 1e-9);
    }

    [Theory]
    [MemberData(nameof(Momenta))]
    public void TruncatedAtFullDepthAndCheckpointedEqualReverseUnrolling(double momentum)
    {
        using var scope = TensorScope.Begin();
        var problem = Quadratic.Problem(steps: 17, momentum);
        var phi = Quadratic.PhiTensor();
        var full = new ReverseUnrolling().Estimate(problem, phi, 0).Gradient.ToArray();
        var truncated = new ReverseUnrolling(truncation: 17).Estimate(problem, phi, 0).Gradient.ToArray();
        var checkpointed = new ReverseUnrolling(checkpointing: true).Estimate(problem, phi, 0).Gradient.ToArray();
        Assert.Equal(full, truncated);
        Assert.InRange(Quadratic.RelativeError(checkpointed, full), 0, 1e-12);
    }

    [Fact]
    public void TruncationIsBiasedButCloserWithMoreSteps()
    {
        using var scope = TensorScope.Begin();
        var problem = Quadratic.Problem(steps: 20);
        var exact = Quadratic.Exact(problem);
        double Error(int k) => Quadratic.RelativeError(new ReverseUnrolling(truncation: k).Estimate(problem, Quadratic.PhiTensor(), 0).Gradient.Span, exact);
        Assert.True(Error(2) > Error(10), "TRGU(10) should be closer to the full hypergradient than TRGU(2)");
        Assert.True(Error(2) > 1e-3, "TRGU(2) of a 20-step unroll should be visibly biased");
    }
}
