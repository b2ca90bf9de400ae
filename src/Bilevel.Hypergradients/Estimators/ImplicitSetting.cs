using System.Numerics;
using Bilevel.Tensors;

namespace Bilevel.Hypergradients.Estimators;

/// <summary>
/// What every implicit-function (IFT) estimator needs at the inner solution θ_T(φ):
/// ∇h ≈ ∂f/∂φ − H_φθ · q with q ≈ H_θθ⁻¹ ∂f/∂θ, where the Hessians are those of g on the last inner step's minibatch.
/// The estimators differ only in how they approximate q.
/// </summary>
internal sealed class ImplicitSetting<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly IBilevelProblem<T> problem;
    private readonly long outerStep;

    public ImplicitSetting(IBilevelProblem<T> problem, Tensor<T> phi, long outerStep)
    {
        this.problem = problem;
        this.outerStep = outerStep;
        Phi = phi;
        var final = InnerDynamics.Final(problem, phi, outerStep);
        Theta = final.Theta;
        // The outer loss's graph (activations of the whole validation set) dies before the Hessian products start,
        // so the peak is the larger of the two rather than their sum.
        (OuterLoss, OuterThetaGradient, OuterPhiGradient) = OuterGradient.Of(problem, Theta, phi, outerStep);
    }

    public Tensor<T> Phi { get; }

    public Tensor<T> Theta { get; }

    public double OuterLoss { get; }

    /// <summary>∂f/∂θ at (θ_T, φ).</summary>
    public Tensor<T> OuterThetaGradient { get; }

    /// <summary>Frees ∂f/∂θ, for an estimator that has made its own copies of it and reads it no more.</summary>
    public void ReleaseOuterThetaGradient() => OuterThetaGradient.Dispose();

    /// <summary>∂f/∂φ at (θ_T, φ).</summary>
    public Tensor<T> OuterPhiGradient { get; }

    public int HvpCount { get; private set; }

    /// <summary>H_θθ·v of the inner objective at θ_T.</summary>
    public Tensor<T> InnerHessianTimes(Tensor<T> v) => Products(v)[0];

    /// <summary>∂f/∂φ − H_φθ·q: the hypergradient for a given approximation q of H_θθ⁻¹ ∂f/∂θ.</summary>
    public Tensor<T> Hypergradient(Tensor<T> q) => Ops.Sub(OuterPhiGradient, Products(q)[1]);

    /// <summary>[H_θθ v; H_φθ v] by one forward-over-reverse product over (θ, φ).</summary>
    private Tensor<T>[] Products(Tensor<T> v)
    {
        HvpCount++;
        return Autodiff.HessianVectorProducts(q => problem.InnerLoss(q[0], q[1], outerStep, problem.UnrollSteps),
            [Theta, Phi], [v, Tensor<T>.Zeros(Phi.Shape)]);
    }
}
