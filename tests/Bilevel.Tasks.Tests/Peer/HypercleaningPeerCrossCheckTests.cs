using System.Globalization;
using Bilevel.Hypergradients;
using Bilevel.Hypergradients.Estimators;
using Bilevel.Tasks.Config;
using Bilevel.Tasks.Hypercleaning;
using Bilevel.Tensors;

namespace Bilevel.Tasks.Tests.Peer;

/// <summary>
/// Logistic-regression data hypercleaning (linear model 784 → 10, SGD, weight decay, σ(φ) weights, minibatches)
/// in float64 against PyTorch 1.13 on identical inputs: θ₀, φ, the training and validation data, the noisy labels
/// and every inner step's minibatch are written to files; tests/peer/hypergrad_crosscheck.py unrolls the same SGD
/// with create_graph and differentiates it by autograd. RGU's hypergradient and outer loss, and the forward-mode
/// directional derivatives ∇h·v_i that (FG)²U is built from, agree within 1e-8 relative (normwise).
/// </summary>
public sealed class HypercleaningPeerCrossCheckTests
{
    private const double Tolerance = 1e-8;
    private const int Directions = 4;
    private const long OuterStep = 3;

    private static readonly HypercleaningConfig Config = new()
    {
        TrainSize = 200,
        ValidationSize = 100,
        TestSize = 0,
        CorruptionRate = 0.5,
        Hidden = [],
        Optimizer = InnerOptimizerKind.Sgd,
        LearningRate = 0.5,
        WeightDecay = 1e-3,
        UnrollSteps = 10,
        BatchSize = 50,
        Weights = WeightMap.Sigmoid,
    };

    [Fact]
    public void ReverseUnrollingAndDirectionalDerivativesMatchPyTorch()
    {
        using var scope = TensorScope.Begin();
        var problem = Config.Build<double>(seed: 11);
        // φ away from 0 so that the weights σ(φ) differ from example to example.
        var phi = Tensor<double>.Zeros(problem.OuterSize);
        new CounterRandom(5, 0, "crosscheck-phi").FillGaussian(phi.Span, std: 1.5);
        var directions = Tensor<double>.Zeros(Directions, problem.OuterSize);
        new CounterRandom(5, 0, "crosscheck-directions").FillGaussian(directions.Span);

        var rgu = new ReverseUnrolling().Estimate(problem, phi, OuterStep);
        // What (FG)²U does for each chunk of directions: one primal trajectory carrying the stacked tangents.
        var (values, tangents) = Autodiff.JvpStacked(p => [InnerDynamics.OuterObjective(problem, p[0], OuterStep)], [phi], [directions]);
        // The estimator itself, b = 1 Rademacher direction v: its estimate is d·v, so |d| = ‖estimate‖/√N, and
        // ∇h·sign(estimate) = ∇h·(±v) = |d| whatever the sign of d.
        var single = new ForwardGradientUnrolling(1).Estimate(problem, phi, OuterStep);
        var signs = single.Gradient.ToArray().Select(g => (double)Math.Sign(g)).ToArray();
        double magnitude = Math.Sqrt(Ops.SquaredNorm(single.Gradient).Item()) / Math.Sqrt(problem.OuterSize);

        var torch = RunPeer(problem, phi, [.. directions.ToArray(), .. signs], Directions + 1);

        AssertClose("outer loss h(φ)", [torch.Loss], [rgu.OuterLoss]);
        AssertClose("outer loss of the forward-mode run", [torch.Loss], [values[0].Item()]);
        AssertClose("RGU hypergradient", torch.Hypergradient, rgu.Gradient.ToArray());
        AssertClose("directional derivatives ∇h·v_i", torch.DirectionalDerivatives[..Directions], tangents[0].ToArray());
        AssertClose("(FG)²U(b = 1) |∇h·v|", [torch.DirectionalDerivatives[Directions]], [magnitude]);
        Assert.All(single.Gradient.ToArray(), g => Assert.Equal(magnitude, Math.Abs(g), 1e-12 * magnitude));
    }

    private sealed record PeerResult(double Loss, double[] Hypergradient, double[] DirectionalDerivatives);

    /// <param name="directions">Row-major [count, N].</param>
    private static PeerResult RunPeer(HypercleaningProblem<double> problem, Tensor<double> phi, double[] directions, int count)
    {
        var data = problem.Data;
        var all = (int n) => Enumerable.Range(0, n).ToArray();
        using var peer = new PeerFolder();
        peer.Write("theta0.bin", problem.InitialTheta(OuterStep).ToArray());
        peer.Write("phi.bin", phi.ToArray());
        peer.Write("x_train.bin", data.Train.FlatImageBatch<double>(all(data.Train.Count)).ToArray());
        peer.Write("y_train.bin", data.Train.Labels);
        peer.Write("x_val.bin", data.Validation.FlatImageBatch<double>(all(data.Validation.Count)).ToArray());
        peer.Write("y_val.bin", data.Validation.Labels);
        var batches = Enumerable.Range(1, problem.UnrollSteps).SelectMany(t => problem.InnerBatch(OuterStep, t)).ToArray();
        Assert.Equal(problem.UnrollSteps * Config.BatchSize, batches.Length);
        peer.Write("batches.bin", batches);
        peer.Write("directions.bin", directions);

        peer.Run("hypergrad_crosscheck.py", string.Create(CultureInfo.InvariantCulture,
            $"--train {data.Train.Count} --val {data.Validation.Count} --steps {problem.UnrollSteps} --batch {Config.BatchSize} --lr {Config.LearningRate:R} --wd {Config.WeightDecay:R} --directions {count} --dtype float64 --threads 2"));
        return new PeerResult(peer.ReadScalar("outer_loss.bin"), peer.Read("hypergrad.bin", problem.OuterSize), peer.Read("dirderiv.bin", count));
    }

    private static void AssertClose(string what, double[] torch, double[] ours) => PeerAssert.Close(what, torch, ours, Tolerance);
}
