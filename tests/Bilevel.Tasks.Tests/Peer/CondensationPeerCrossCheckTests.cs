using Bilevel.Tasks.Condensation;
using Bilevel.Tasks.Config;
using Bilevel.Tensors;

namespace Bilevel.Tasks.Tests.Peer;

/// <summary>
/// Data condensation (ConvNet width 8, depth 2, 28×28 MNIST digits, 10 classes, T = 3) in float64 against PyTorch 1.13
/// on identical inputs: θ₀, φ (synthetic images, and learned soft-label logits and log η where configured), the real
/// training images and the outer step's real batch go to tests/peer/task_condensation.py, which rebuilds the task from
/// its definition. Inner losses and gradients along the trajectory, θ_T, the outer loss and its partial derivatives, and
/// RGU's hypergradient agree within 1e-8 relative.
/// </summary>
public sealed class CondensationPeerCrossCheckTests
{
    private const double Tolerance = 1e-8;
    private const long OuterStep = 3;

    public static TheoryData<CondensationConfig> Configs { get; } = new()
    {
        Small with { ImagesPerClass = 1, Optimizer = InnerOptimizerKind.Sgd },
        Small with { ImagesPerClass = 2, Optimizer = InnerOptimizerKind.Momentum, Momentum = 0.9, LearnLabels = true, LearnLearningRate = true },
    };

    private static CondensationConfig Small => new()
    {
        TrainSize = 300,
        TestSize = 0,
        Channels = 8,
        Depth = 2,
        UnrollSteps = 3,
        RealBatch = 32,
        LearningRate = 0.1,
    };

    [Theory]
    [MemberData(nameof(Configs))]
    public void TrajectoryLossesAndHypergradientMatchPyTorch(CondensationConfig config)
    {
        using var scope = TensorScope.Begin();
        var problem = config.Build<double>(seed: 13);
        // Noise on φ₀ makes the soft labels differ from one image to the next and moves η off its configured value.
        var phi = problem.InitialPhi();
        var noise = Tensor<double>.Zeros(problem.OuterSize);
        new CounterRandom(5, 0, "crosscheck-phi").FillGaussian(noise.Span, std: 0.1);
        phi = Ops.Add(phi, noise);
        var ours = UnrolledCrossCheck.Run(problem, phi, OuterStep);

        using var peer = new PeerFolder();
        var train = problem.Train;
        Assert.Equal(train.Height, train.Width);
        var realBatch = problem.RealBatch(OuterStep);
        peer.WriteSpec(new
        {
            problem.Classes,
            Ipc = problem.ImagesPerClass,
            config.Channels,
            config.Depth,
            InChannels = train.Channels,
            ImageSize = train.Height,
            Steps = problem.UnrollSteps,
            config.LearningRate,
            Optimizer = PeerNames.Of(config.Optimizer),
            config.Momentum,
            config.LearnLabels,
            config.LearnLearningRate,
            TrainCount = train.Count,
            RealBatch = realBatch.Length,
        });
        peer.Write("theta0.bin", problem.InitialTheta(OuterStep).ToArray());
        peer.Write("phi.bin", phi.ToArray());
        peer.Write("x_train.bin", train.ImageBatch<double>(0, train.Count).ToArray());
        peer.Write("y_train.bin", train.Labels);
        peer.Write("real_batch.bin", realBatch);
        peer.Run("task_condensation.py");

        ours.AssertMatches(peer, problem.Outer, Tolerance);
    }
}
