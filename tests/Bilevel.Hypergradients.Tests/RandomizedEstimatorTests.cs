using Bilevel.Nn;
using Bilevel.Hypergradients.Estimators;
using Bilevel.Tensors;

namespace Bilevel.Hypergradients.Tests;

/// <summary>(FG)²U is unbiased with error ∝ 1/√b; its zeroth-order variant converges as μ → 0.</summary>
public sealed class RandomizedEstimatorTests
{
    [Theory]
    [InlineData(DirectionDistribution.Rademacher)]
    [InlineData(DirectionDistribution.Gaussian)]
    [InlineData(DirectionDistribution.Sphere)]
    [InlineData(DirectionDistribution.Coordinate)]
    public void ForwardGradientUnrollingIsUnbiased(DirectionDistribution distribution)
    {
        using var scope = TensorScope.Begin();
        var problem = Quadratic.Problem(steps: 8, momentum: Quadratic.Mu);
        var exact = Quadratic.Exact(problem, Quadratic.Mu);
        var estimator = new ForwardGradientUnrolling(directions: 4, distribution);
        const int repeats = 300;
        var samples = new double[repeats][];
        for (int r = 0; r < repeats; r++)
        {
            using var step = TensorScope.Begin();
            samples[r] = estimator.Estimate(problem, Quadratic.PhiTensor(), outerStep: r).Gradient.ToArray();
        }
        for (int j = 0; j < exact.Length; j++)
        {
            double mean = samples.Average(s => s[j]);
            double std = Math.Sqrt(samples.Sum(s => (s[j] - mean) * (s[j] - mean)) / (repeats - 1));
            // Five standard errors: a correct estimator fails this with probability ~1e-6 per coordinate.
            Assert.True(Math.Abs(mean - exact[j]) <= 5 * std / Math.Sqrt(repeats) + 1e-12,
                $"coordinate {j}: mean {mean} vs exact {exact[j]}, standard error {std / Math.Sqrt(repeats)}");
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void DirectionChunksSideBySideGiveTheSerialEstimate(int threads)
    {
        // Seven directions in chunks of 2, 2, 2 and 1, claimed by whichever thread is free: an estimate that depended
        // on which thread ran which chunk, or that put a chunk's derivatives at the wrong offset, would differ.
        using var scope = TensorScope.Begin();
        var problem = Quadratic.Problem(steps: 8, momentum: Quadratic.Mu);
        double[] Estimate(int estimatorThreads) =>
            new ForwardGradientUnrolling(7, chunkSize: 2, threads: estimatorThreads).Estimate(problem, Quadratic.PhiTensor(), outerStep: 3).Gradient.ToArray();
        double[] serial, sideBySide;
        using (TensorEngine.LimitThreads(1)) serial = Estimate(1);
        // Each chunk's kernels get threads / threads = 1 engine thread, as the serial run's do, so the bits must match.
        using (TensorEngine.LimitThreads(threads)) sideBySide = Estimate(threads);
        Assert.Equal(serial, sideBySide);
    }

    [Fact]
    public void DirectionChunksSharingTheirPrimalProductsGiveTheSerialEstimate()
    {
        // An MLP whose layer products are large enough for the chunks side by side to compute them once between them
        // (TensorEngine.RunSharingPrimal): the first layer's X·W and Xᵀ·G, values and weight gradients.
        using var scope = TensorScope.Begin();
        var problem = new HypercleaningProblem(new Mlp(256, 128, 4), new Shape(256), classes: 4, samples: 128, validation: 32,
            l2: 1e-2, learningRate: 0.1, steps: 3);
        double[] Estimate(int estimatorThreads) =>
            new ForwardGradientUnrolling(4, chunkSize: 2, threads: estimatorThreads).Estimate(problem, problem.Phi(), outerStep: 3).Gradient.ToArray();
        double[] serial, sideBySide;
        using (TensorEngine.LimitThreads(1)) serial = Estimate(1);
        using (TensorEngine.LimitThreads(2)) sideBySide = Estimate(2);
        Assert.Equal(serial, sideBySide);
    }

    [Fact]
    public void UnbiasednessTestWouldCatchAMissingDirectTerm()
    {
        // The direct term ∂f/∂φ = ρφ is part of every d_i; dropping it shifts the mean by ρφ, far beyond the bound above.
        var problem = Quadratic.Problem(steps: 8);
        var exact = Quadratic.Exact(problem);
        var phi = Quadratic.Phi();
        double shift = Math.Sqrt(phi.Sum(x => (problem.Rho * x) * (problem.Rho * x)));
        Assert.True(shift > 0.1 * Math.Sqrt(exact.Sum(x => x * x)), "the test problem must give the direct term weight");
    }

    [Fact]
    public void ErrorShrinksLikeOneOverRootB()
    {
        using var scope = TensorScope.Begin();
        var problem = Quadratic.Problem(steps: 8);
        var exact = Quadratic.Exact(problem);
        double MeanSquaredError(int b)
        {
            var estimator = new ForwardGradientUnrolling(b);
            double total = 0;
            const int repeats = 60;
            for (int r = 0; r < repeats; r++)
            {
                using var step = TensorScope.Begin();
                var g = estimator.Estimate(problem, Quadratic.PhiTensor(), outerStep: 1000 + r).Gradient.Span;
                for (int j = 0; j < exact.Length; j++) total += (g[j] - exact[j]) * (g[j] - exact[j]);
            }
            return total / repeats;
        }
        double ratio = MeanSquaredError(1) / MeanSquaredError(16);
        // Variance ∝ 1/b: the ratio is 16 in expectation; sampling noise over 60 repeats keeps it well above 6.
        Assert.InRange(ratio, 6, 40);
    }

    [Fact]
    public void ZerothOrderConvergesAsMuShrinks()
    {
        using var scope = TensorScope.Begin();
        var problem = Quadratic.Problem(steps: 8);
        var phi = Quadratic.PhiTensor();
        var exact = Quadratic.Exact(problem);
        // With the same directions, the exact-derivative version of the ZO estimate is (1/b) Σ (∇h·v_i) v_i.
        double Error(double mu, bool central)
        {
            var estimator = new ZerothOrder(directions: 6, mu, central);
            var estimate = estimator.Estimate(problem, phi, 3).Gradient.Span;
            var reference = estimator.EstimateBlackBox(p => Dot(exact, p.Span) , Tensor<double>.Zeros(Quadratic.N), problem.Seed, 3).Gradient.Span;
            return Quadratic.RelativeError(estimate, reference.ToArray());
        }
        Assert.True(Error(1e-2, false) > Error(1e-4, false), "forward differences should improve from μ = 1e-2 to 1e-4");
        Assert.True(Error(1e-4, false) > Error(1e-6, false), "forward differences should improve from μ = 1e-4 to 1e-6");
        Assert.InRange(Error(1e-6, false), 0, 1e-5);
        Assert.InRange(Error(1e-4, true), 0, 1e-7);
    }

    private static double Dot(double[] a, ReadOnlySpan<double> b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }
}
