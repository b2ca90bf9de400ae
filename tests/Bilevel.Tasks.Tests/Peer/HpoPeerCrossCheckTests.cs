using Bilevel.Tasks.Config;
using Bilevel.Tasks.Hpo;
using Bilevel.Tensors;

namespace Bilevel.Tasks.Tests.Peer;

/// <summary>
/// Hyperparameter optimisation (MLP on MNIST digits, T = 3 minibatch steps) in float64 against PyTorch 1.13 on
/// identical inputs: θ₀, φ (weight decay per parameter, per layer or global, softplus or exp; the learned schedule
/// log η_t), the training and validation data and every inner step's minibatch go to tests/peer/task_hpo.py, which
/// rebuilds the task from its definition. Inner losses and gradients along the trajectory, θ_T, the outer loss and its
/// partial derivatives, and RGU's hypergradient (decay and schedule compared separately) agree within 1e-8 relative.
/// </summary>
public sealed class HpoPeerCrossCheckTests
{
    private const double Tolerance = 1e-8;
    private const long OuterStep = 3;

    public static TheoryData<HpoConfig> Configs { get; } = new()
    {
        Small with { WeightDecay = DecayGranularity.PerParameter, DecayTransform = DecayTransform.Softplus, Optimizer = InnerOptimizerKind.Sgd },
        Small with { WeightDecay = DecayGranularity.PerLayer, DecayTransform = DecayTransform.Exp, Optimizer = InnerOptimizerKind.Momentum, Hidden = [16, 8] },
        Small with { WeightDecay = DecayGranularity.Global, LearnSchedule = false, Optimizer = InnerOptimizerKind.Momentum, Hidden = [] },
        Small with { WeightDecay = DecayGranularity.None, Optimizer = InnerOptimizerKind.Sgd },
    };

    private static HpoConfig Small => new()
    {
        TrainSize = 200,
        ValidationSize = 100,
        TestSize = 0,
        Hidden = [16],
        LearningRate = 0.2,
        Momentum = 0.8,
        UnrollSteps = 3,
        BatchSize = 50,
        // Large enough that the decay moves θ noticeably in three steps, so its hypergradient is not lost in rounding.
        InitialDecay = 0.05,
        LearnSchedule = true,
    };

    [Theory]
    [MemberData(nameof(Configs))]
    public void TrajectoryLossesAndHypergradientMatchPyTorch(HpoConfig config)
    {
        using var scope = TensorScope.Begin();
        var problem = config.Build<double>(seed: 17);
        // Noise on φ₀ gives every λ and every η_t its own value.
        var noise = Tensor<double>.Zeros(problem.OuterSize);
        new CounterRandom(5, 0, "crosscheck-phi").FillGaussian(noise.Span, std: 0.3);
        var phi = Ops.Add(problem.InitialPhi(), noise);
        var ours = UnrolledCrossCheck.Run(problem, phi, OuterStep);

        using var peer = new PeerFolder();
        var (train, validation) = (problem.Data.Train, problem.Data.Validation);
        var batches = Enumerable.Range(1, problem.UnrollSteps).Select(t => problem.InnerBatch(OuterStep, t)).ToArray();
        Assert.All(batches, b => Assert.Equal(config.BatchSize, b.Length));
        peer.WriteSpec(new
        {
            problem.Model.Widths,
            Steps = problem.UnrollSteps,
            Batch = config.BatchSize,
            config.LearningRate,
            Optimizer = PeerNames.Of(config.Optimizer),
            config.Momentum,
            WeightDecay = PeerNames.Of(config.WeightDecay),
            DecayTransform = PeerNames.Of(config.DecayTransform),
            config.InitialDecay,
            config.LearnSchedule,
            TrainCount = train.Count,
            ValidationCount = validation.Count,
        });
        peer.Write("theta0.bin", problem.InitialTheta(OuterStep).ToArray());
        peer.Write("phi.bin", phi.ToArray());
        peer.Write("x_train.bin", train.FlatImageBatch<double>(Enumerable.Range(0, train.Count).ToArray()).ToArray());
        peer.Write("y_train.bin", train.Labels);
        peer.Write("x_val.bin", validation.FlatImageBatch<double>(Enumerable.Range(0, validation.Count).ToArray()).ToArray());
        peer.Write("y_val.bin", validation.Labels);
        peer.Write("batches.bin", batches.SelectMany(b => b).ToArray());
        peer.Run("task_hpo.py");

        ours.AssertMatches(peer, problem.Outer, Tolerance);
    }
}
