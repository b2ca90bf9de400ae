using System.Numerics;
using Bilevel.Nn.Optimizers;
using Bilevel.Tensors;

namespace Bilevel.Hypergradients.Problems;

/// <summary>
/// The built-in quadratic bilevel problem, whose unrolled hypergradient has a closed form:
/// g(θ, φ) = ½ θᵀAθ − θᵀBφ with A symmetric positive definite, f(θ, φ) = ½‖Cθ − d‖² + ½ρ‖φ‖².
/// With SGD or momentum the inner map is linear, so dθ_T/dφ is a matrix recurrence (see <see cref="QuadraticReference"/>).
/// Deterministic (no minibatches); θ₀ is fixed by the seed and independent of φ and of the outer step.
/// </summary>
public sealed class QuadraticProblem<T> : IBilevelProblem<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Tensor<T> a, b, c, d, theta0;

    /// <param name="conditioning">Eigenvalues of A are spread over [1, conditioning].</param>
    public QuadraticProblem(int innerSize, int outerSize, int unrollSteps, IInnerOptimizer optimizer, double learningRate, ulong seed,
        double conditioning = 4, double outerRegularization = 0.5)
    {
        if (innerSize < 1 || outerSize < 1) throw new ArgumentException($"quadratic: sizes must be ≥ 1 (M = {innerSize}, N = {outerSize}).");
        if (unrollSteps < 0) throw new ArgumentException($"quadratic: T must be ≥ 0, got {unrollSteps}.", nameof(unrollSteps));
        if (!(learningRate > 0)) throw new ArgumentException($"quadratic: learning rate must be positive, got {learningRate}.", nameof(learningRate));
        (InnerSize, OuterSize, UnrollSteps, Optimizer, LearningRate, Seed, Rho) = (innerSize, outerSize, unrollSteps, optimizer, learningRate, seed, outerRegularization);
        var random = new CounterRandom(seed, 0, "quadratic-problem");
        Matrices = QuadraticReference.RandomMatrices(innerSize, outerSize, conditioning, ref random);
        a = FromRows(Matrices.A);
        b = FromRows(Matrices.B);
        c = FromRows(Matrices.C);
        d = Tensor<T>.FromSpan(Matrices.D.Select(T.CreateChecked).ToArray(), new Shape(innerSize, 1));
        theta0 = Tensor<T>.FromSpan(Matrices.Theta0.Select(T.CreateChecked).ToArray(), new Shape(innerSize));
    }

    public int InnerSize { get; }

    public int OuterSize { get; }

    public int UnrollSteps { get; }

    public ulong Seed { get; }

    public IInnerOptimizer Optimizer { get; }

    public double LearningRate { get; }

    public double Rho { get; }

    /// <summary>The matrices in double precision, for closed-form references.</summary>
    public QuadraticMatrices Matrices { get; }

    public Tensor<T> InitialTheta(long outerStep) => Tensor<T>.FromSpan(theta0.Span, theta0.Shape);

    public StepSize<T> StepSize(Tensor<T> phi, int step) => new(Tensor<T>.Scalar(T.CreateChecked(LearningRate)));

    public Tensor<T> InnerLoss(Tensor<T> theta, Tensor<T> phi, long outerStep, int step)
    {
        var column = Ops.Reshape(theta, InnerSize, 1);
        var quadratic = Ops.Scale(Ops.Sum(Ops.Mul(column, Ops.MatMul(a, column))), T.CreateChecked(0.5));
        var coupling = Ops.Sum(Ops.Mul(column, Ops.MatMul(b, Ops.Reshape(phi, OuterSize, 1))));
        return Ops.Sub(quadratic, coupling);
    }

    public Tensor<T> OuterLoss(Tensor<T> theta, Tensor<T> phi, long outerStep)
    {
        var residual = Ops.Sub(Ops.MatMul(c, Ops.Reshape(theta, InnerSize, 1)), d);
        return Ops.Add(Ops.Scale(Ops.SquaredNorm(residual), T.CreateChecked(0.5)), Ops.Scale(Ops.SquaredNorm(phi), T.CreateChecked(0.5 * Rho)));
    }

    private static Tensor<T> FromRows(double[,] m)
        => Tensor<T>.FromSpan(m.Cast<double>().Select(T.CreateChecked).ToArray(), new Shape(m.GetLength(0), m.GetLength(1)));
}
