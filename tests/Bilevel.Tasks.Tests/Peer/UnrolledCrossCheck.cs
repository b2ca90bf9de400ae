using Bilevel.Hypergradients;
using Bilevel.Hypergradients.Estimators;
using Bilevel.Nn;
using Bilevel.Tensors;

namespace Bilevel.Tasks.Tests.Peer;

/// <summary>
/// Our side of an unrolled task's cross-check (tests/peer/task_common.py is the peer's): along the inner trajectory
/// θ₀ → θ_T of one outer step, the inner loss g_t(θ_{t−1}) and its gradient ∇_θ g_t(θ_{t−1}) at every step t, then
/// θ_T, the outer loss f(θ_T, φ) with ∂f/∂θ and ∂f/∂φ, and RGU's hypergradient dh/dφ, compared part by part of φ.
/// </summary>
internal sealed record UnrolledCrossCheck(double[] InnerLosses, double[][] InnerGradients, double[] FinalTheta, double OuterLoss,
    double[] OuterGradientTheta, double[] OuterGradientPhi, double RguOuterLoss, double[] Hypergradient)
{
    /// <summary>The files task_common.py writes; the names are the contract with it.</summary>
    private const string InnerLossesFile = "inner_losses.bin", InnerGradientsFile = "inner_grads.bin", FinalThetaFile = "theta_T.bin",
        OuterLossFile = "outer_loss.bin", OuterGradientThetaFile = "outer_grad_theta.bin", OuterGradientPhiFile = "outer_grad_phi.bin",
        HypergradientFile = "hypergrad.bin";

    public static UnrolledCrossCheck Run(IBilevelProblem<double> problem, Tensor<double> phi, long outerStep)
    {
        using var scope = TensorScope.Begin();
        var losses = new List<double>();
        var gradients = new List<double[]>();
        var final = InnerDynamics.Run(problem, InnerDynamics.Start(problem, outerStep), phi, outerStep, 1, problem.UnrollSteps, (t, state) =>
        {
            using var stepScope = TensorScope.Begin();
            var (value, gradient) = Autodiff.ValueAndGrad(a => problem.InnerLoss(a[0], phi, outerStep, t), state.Theta);
            losses.Add(value.Item());
            gradients.Add(gradient[0].ToArray());
        });
        var (outerLoss, outer) = Autodiff.ValueAndGrad(a => problem.OuterLoss(a[0], a[1], outerStep), final.Theta, phi);
        var rgu = new ReverseUnrolling().Estimate(problem, phi, outerStep);
        return new UnrolledCrossCheck([.. losses], [.. gradients], final.Theta.ToArray(), outerLoss.Item(), outer[0].ToArray(), outer[1].ToArray(),
            rgu.OuterLoss, rgu.Gradient.ToArray());
    }

    /// <summary>Compares with the results the peer wrote to <paramref name="peer"/>; the hypergradient block by block of <paramref name="outer"/>.</summary>
    public void AssertMatches(PeerFolder peer, ParameterLayout outer, double tolerance)
    {
        int steps = InnerLosses.Length, m = FinalTheta.Length, n = Hypergradient.Length;
        PeerAssert.Close("inner losses g_t(θ_{t−1}), t = 1..T", peer.Read(InnerLossesFile, steps), InnerLosses, tolerance);
        var gradients = peer.Read(InnerGradientsFile, steps * m);
        for (int t = 1; t <= steps; t++)
            PeerAssert.Close($"∇θ g_{t}(θ_{t - 1})", gradients.AsSpan((t - 1) * m, m), InnerGradients[t - 1], tolerance);
        PeerAssert.Close("θ_T", peer.Read(FinalThetaFile, m), FinalTheta, tolerance);
        double torchOuterLoss = peer.ReadScalar(OuterLossFile);
        PeerAssert.Close("outer loss f(θ_T, φ)", torchOuterLoss, OuterLoss, tolerance);
        PeerAssert.Close("RGU's outer loss", torchOuterLoss, RguOuterLoss, tolerance);
        PeerAssert.Close("∂f/∂θ at θ_T", peer.Read(OuterGradientThetaFile, m), OuterGradientTheta, tolerance);
        var torchPartialPhi = peer.Read(OuterGradientPhiFile, n);
        // The validation losses of these tasks do not depend on φ: both sides must then say exactly 0.
        if (torchPartialPhi.All(x => x == 0))
            Assert.All(OuterGradientPhi, x => Assert.Equal(0.0, x));
        else
            PeerAssert.Close("∂f/∂φ at θ_T", torchPartialPhi, OuterGradientPhi, tolerance);
        var hypergradient = peer.Read(HypergradientFile, n);
        foreach (var block in outer.Blocks)
            PeerAssert.Close($"RGU hypergradient, {block.Name}", hypergradient.AsSpan(block.Offset, block.Length), Hypergradient.AsSpan(block.Offset, block.Length), tolerance);
    }
}
