using System.Numerics;
using Bilevel.Nn;
using Bilevel.Tensors;

namespace Bilevel.Hypergradients;

/// <summary>The likelihood whose Fisher KFAC factorises; it must be the one behind the problem's inner loss.</summary>
public enum KfacLikelihood
{
    /// <summary>Softmax cross-entropy on the model's logits: inner loss mean_i w_i·CE(z_i, y_i).</summary>
    Classification,

    /// <summary>Gaussian with unit variance on the model's outputs: inner loss mean_i w_i·½‖z_i − y_i‖² (summed over outputs).</summary>
    Regression,
}

/// <summary>
/// The inner minibatch as KFAC sees it at θ_T: the model whose parameters are θ (the whole of θ, in the model's
/// layout), its inputs, the likelihood, per-sample loss weights and the L2 term of the inner loss. The inner loss of
/// that minibatch must be (1/n) Σ_i w_i ℓ(z_i, y_i) + (ρ/2)‖θ‖² with z = Model.Forward(θ, Inputs), ℓ the likelihood's
/// negative log (cross-entropy, or ½‖z − y‖²), w_i the weights (1 when null) and ρ = <paramref name="L2"/>.
/// The Fisher does not depend on the labels or targets y, so they are not needed. Values that depend on φ
/// (weights σ(φ_i), synthetic images) are read as constants: curvature factors are not differentiated.
/// </summary>
/// <param name="SampleWeights">w_i ≥ 0, shape [n]; null means 1.</param>
/// <param name="L2">ρ ≥ 0 of an L2 term (ρ/2)‖θ‖² in the inner loss; KFAC adds it to its damping.</param>
public sealed record KfacBatch<T>(IKfacModel Model, Tensor<T> Inputs, KfacLikelihood Likelihood, Tensor<T>? SampleWeights = null, double L2 = 0)
    where T : unmanaged, IFloatingPointIeee754<T>;

/// <summary>A bilevel problem whose inner loss is a likelihood of an <see cref="IKfacModel"/>, so that KFAC can approximate its curvature.</summary>
public interface IKfacProblem<T> : IBilevelProblem<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>
    /// The minibatch of inner step t (1-based) of outer step k, the one whose loss <see cref="IBilevelProblem{T}.InnerLoss"/>
    /// evaluates; KFAC asks for t = T, the step whose Hessian the implicit estimators use.
    /// </summary>
    KfacBatch<T> KfacBatch(Tensor<T> phi, long outerStep, int step);
}
