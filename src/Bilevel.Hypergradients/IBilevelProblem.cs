using System.Numerics;
using Bilevel.Nn.Optimizers;
using Bilevel.Tensors;

namespace Bilevel.Hypergradients;

/// <summary>
/// min_φ f(θ_T(φ), φ) where θ_T comes from T steps of an inner optimizer on g(θ, φ). Every method is a pure
/// function of its arguments and of the problem's seed: the minibatch of inner step t at outer step k is drawn from
/// the counter-based generator keyed by (seed, k, purpose), so every estimator, and every direction of one
/// estimator, sees the same inner randomness.
/// </summary>
public interface IBilevelProblem<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>M, the number of inner variables θ.</summary>
    int InnerSize { get; }

    /// <summary>N, the number of outer variables φ.</summary>
    int OuterSize { get; }

    /// <summary>T, the number of inner steps unrolled per outer step.</summary>
    int UnrollSteps { get; }

    ulong Seed { get; }

    IInnerOptimizer Optimizer { get; }

    /// <summary>φ₀, where the outer optimisation starts.</summary>
    Tensor<T> InitialPhi() => Tensor<T>.Zeros(OuterSize);

    /// <summary>θ₀ for outer step k (independent of φ).</summary>
    Tensor<T> InitialTheta(long outerStep);

    /// <summary>The step size of inner step t (1-based); may depend on φ differentiably.</summary>
    StepSize<T> StepSize(Tensor<T> phi, int step);

    /// <summary>g(θ, φ; ξ_t): the inner objective on the minibatch of inner step t (1-based) of outer step k.</summary>
    Tensor<T> InnerLoss(Tensor<T> theta, Tensor<T> phi, long outerStep, int step);

    /// <summary>f(θ, φ; ζ_k): the outer objective.</summary>
    Tensor<T> OuterLoss(Tensor<T> theta, Tensor<T> phi, long outerStep);

    /// <summary>
    /// P, the number of parts f is the sum of: reverse mode takes ∂f/∂(θ, φ) part by part (<see cref="OuterGradient"/>),
    /// so that it holds one part's activations rather than the whole batch's. 1 (the default): f in one piece.
    /// </summary>
    int OuterParts => 1;

    /// <summary>Part p (0-based) of f = Σ_p f_p; with one part, f itself.</summary>
    Tensor<T> OuterLossPart(Tensor<T> theta, Tensor<T> phi, long outerStep, int part) => OuterLoss(theta, phi, outerStep);
}
