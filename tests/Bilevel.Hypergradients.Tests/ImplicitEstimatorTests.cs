using Bilevel.Hypergradients.Estimators;
using Bilevel.Hypergradients.Problems;
using Bilevel.Tensors;

namespace Bilevel.Hypergradients.Tests;

/// <summary>On a strongly convex inner problem run to convergence, the IFT estimators approach the implicit hypergradient.</summary>
public sealed class ImplicitEstimatorTests
{
    private static double ErrorAgainstImplicit(IHypergradientEstimator estimator, double conditioning = 4)
    {
        using var scope = TensorScope.Begin();
        // η = 0.1 and λ(A) ∈ [1, 4]: the inner SGD contracts by ≤ 0.9 per step, so 400 steps reach θ* to ~1e-18.
        var problem = Quadratic.Problem(steps: 400, conditioning: conditioning);
        var exact = QuadraticReference.ImplicitHypergradient(problem.Matrices, Quadratic.Phi(), problem.Rho);
        return Quadratic.RelativeError(estimator.Estimate(problem, Quadratic.PhiTensor(), 0).Gradient.Span, exact);
    }

    [Fact]
    public void ConjugateGradientConvergesInAtMostMSteps()
        => Assert.InRange(ErrorAgainstImplicit(new ConjugateGradient(iterations: Quadratic.M)), 0, 1e-8);

    [Fact]
    public void ConjugateGradientOnNormalEquationsAlsoConverges()
        => Assert.InRange(ErrorAgainstImplicit(new ConjugateGradient(iterations: 3 * Quadratic.M, normalEquations: true)), 0, 1e-6);

    [Fact]
    public void NeumannConvergesWithTheNumberOfTerms()
    {
        double few = ErrorAgainstImplicit(new Neumann(terms: 5, alpha: 0.2));
        double many = ErrorAgainstImplicit(new Neumann(terms: 300, alpha: 0.2));
        Assert.True(many < few / 100, $"Neumann error should fall with K: K=5 {few}, K=300 {many}");
        Assert.InRange(many, 0, 1e-8);
    }

    [Fact]
    public void HessianFreeIsExactWhenTheHessianIsAMultipleOfIdentity()
    {
        // conditioning 1 makes A = I, so H⁻¹ = αI with α = 1 is exact; elsewhere HF is only a first-order guess.
        Assert.InRange(ErrorAgainstImplicit(new HessianFree(alpha: 1.0), conditioning: 1), 0, 1e-10);
        Assert.InRange(ErrorAgainstImplicit(new HessianFree(alpha: 1.0), conditioning: 4), 1e-3, 10);
    }

    [Fact]
    public void ConjugateGradientReportsItsResidual()
    {
        using var scope = TensorScope.Begin();
        var problem = Quadratic.Problem(steps: 400);
        var rough = new ConjugateGradient(iterations: 2).Estimate(problem, Quadratic.PhiTensor(), 0);
        var converged = new ConjugateGradient(iterations: Quadratic.M).Estimate(problem, Quadratic.PhiTensor(), 0);
        Assert.True(rough.Residual > 1e-3, $"2 CG steps should leave a residual, got {rough.Residual}");
        Assert.True(converged.Residual < 1e-8, $"M CG steps should solve the system, residual {converged.Residual}");
    }
}
