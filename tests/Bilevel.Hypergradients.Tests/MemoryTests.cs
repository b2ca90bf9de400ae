using Bilevel.Hypergradients.Estimators;
using Bilevel.Tensors;

namespace Bilevel.Hypergradients.Tests;

/// <summary>(FG)²U's memory does not grow with the unroll depth; RGU's grows linearly.</summary>
[Collection(nameof(MemoryTests))]
[CollectionDefinition(nameof(MemoryTests), DisableParallelization = true)]
public sealed class MemoryTests
{
    private static long PeakBytes(IHypergradientEstimator estimator, int steps)
    {
        using var scope = TensorScope.Begin();
        var problem = Quadratic.Problem(steps, m: 200, n: 20);
        return estimator.Estimate(problem, Quadratic.PhiTensor(20), 0).Cost.PeakBytes;
    }

    [Fact]
    public void ForwardGradientUnrollingMemoryIsFlatInDepth()
    {
        var estimator = new ForwardGradientUnrolling(directions: 4);
        long shallow = PeakBytes(estimator, 10);
        long deep = PeakBytes(estimator, 1000);
        Assert.True(deep <= shallow * 1.1, $"(FG)²U peak memory grew from {shallow} B at T=10 to {deep} B at T=1000");
    }

    [Fact]
    public void ReverseUnrollingMemoryGrowsLinearlyInDepth()
    {
        var estimator = new ReverseUnrolling();
        long t100 = PeakBytes(estimator, 100);
        long t400 = PeakBytes(estimator, 400);
        double perStep = (t400 - t100) / 300.0;
        // One stored state of M = 200 doubles is 1,600 B per step; allow for the rest of the working set.
        Assert.InRange(perStep, 1_600, 4 * 1_600);
        Assert.InRange((double)t400 / t100, 2.5, 4.5);
    }

    [Fact]
    public void CheckpointingCutsReverseUnrollingMemory()
    {
        long plain = PeakBytes(new ReverseUnrolling(), 400);
        long checkpointed = PeakBytes(new ReverseUnrolling(checkpointing: true), 400);
        Assert.True(checkpointed < plain / 4, $"√T checkpointing should store ~40 states instead of 400: {checkpointed} B vs {plain} B");
    }
}
