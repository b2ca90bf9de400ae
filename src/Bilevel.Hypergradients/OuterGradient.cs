using System.Numerics;
using Bilevel.Tensors;

namespace Bilevel.Hypergradients;

/// <summary>f(θ, φ) and its gradients, accumulated over the problem's <see cref="IBilevelProblem{T}.OuterParts"/>.</summary>
public static class OuterGradient
{
    /// <summary>
    /// f and (∂f/∂θ, ∂f/∂φ), each part differentiated in a scope of its own: the peak is one part's graph plus the
    /// two running sums, not the graph of the whole outer batch.
    /// </summary>
    public static (double Loss, Tensor<T> Theta, Tensor<T> Phi) Of<T>(IBilevelProblem<T> problem, Tensor<T> theta, Tensor<T> phi, long outerStep)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int parts = PartsOf(problem);
        double loss = 0;
        Tensor<T>? thetaSum = null, phiSum = null;
        for (int part = 0; part < parts; part++)
        {
            using var scope = TensorScope.Begin();
            var (value, gradients) = Autodiff.ValueAndGrad(a => problem.OuterLossPart(a[0], a[1], outerStep, part), theta, phi);
            loss += value.ItemAsDouble();
            var (previousTheta, previousPhi) = (thetaSum, phiSum);
            thetaSum = scope.Keep(previousTheta is null ? gradients[0] : Ops.Add(previousTheta, gradients[0]));
            phiSum = scope.Keep(previousPhi is null ? gradients[1] : Ops.Add(previousPhi, gradients[1]));
            previousTheta?.Dispose();
            previousPhi?.Dispose();
        }
        return (loss, thetaSum!, phiSum!);
    }

    /// <summary>The problem's <see cref="IBilevelProblem{T}.OuterParts"/>, checked to be at least 1.</summary>
    internal static int PartsOf<T>(IBilevelProblem<T> problem) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(problem);
        int parts = problem.OuterParts;
        return parts >= 1 ? parts : throw new ArgumentException($"outer objective: {parts} parts; a problem has at least 1.", nameof(problem));
    }
}
