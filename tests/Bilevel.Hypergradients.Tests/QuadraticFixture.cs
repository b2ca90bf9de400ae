using Bilevel.Hypergradients.Problems;
using Bilevel.Nn.Optimizers;
using Bilevel.Tensors;

namespace Bilevel.Hypergradients.Tests;

/// <summary>Quadratic problems and their closed-form hypergradients, shared by the estimator tests.</summary>
internal static class Quadratic
{
    public const int M = 12, N = 5;
    public const double LearningRate = 0.1, Mu = 0.6;

    public static QuadraticProblem<double> Problem(int steps, double momentum = 0, int m = M, int n = N, double conditioning = 4)
        => new(m, n, steps, momentum == 0 ? new Sgd() : new Momentum(momentum), LearningRate, seed: 42, conditioning: conditioning);

    public static double[] Phi(int n = N) => Enumerable.Range(0, n).Select(i => Math.Sin(i + 1.0)).ToArray();

    public static Tensor<double> PhiTensor(int n = N) => Tensor<double>.FromArray(Phi(n), n);

    public static double[] Exact(QuadraticProblem<double> p, double momentum = 0)
        => QuadraticReference.Hypergradient(p.Matrices, Phi(p.OuterSize), p.UnrollSteps, p.LearningRate, momentum, p.Rho);

    public static double RelativeError(ReadOnlySpan<double> estimate, double[] exact)
    {
        double diff = 0, norm = 0;
        for (int i = 0; i < exact.Length; i++)
        {
            diff += (estimate[i] - exact[i]) * (estimate[i] - exact[i]);
            norm += exact[i] * exact[i];
        }
        return Math.Sqrt(diff / norm);
    }
}
