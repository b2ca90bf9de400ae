using System.Numerics;
using Bilevel.Nn;
using Bilevel.Tasks.Config;
using Bilevel.Tasks.Data;

namespace Bilevel.Tasks.Condensation;

/// <summary>Configuration of a data-condensation task.</summary>
public sealed record CondensationConfig : ITaskConfig
{
    public string Dataset { get; init; } = Datasets.MnistNpm;

    /// <summary>Synthetic images per class (IPC).</summary>
    public int ImagesPerClass { get; init; } = 10;

    public int TrainSize { get; init; } = 8000;

    public int TestSize { get; init; } = 2000;

    /// <summary>ConvNet width (channels per block) and depth (blocks).</summary>
    public int Channels { get; init; } = 32;

    public int Depth { get; init; } = 3;

    public InnerOptimizerKind Optimizer { get; init; } = InnerOptimizerKind.Sgd;

    public double LearningRate { get; init; } = 0.01;

    public double Momentum { get; init; } = 0.9;

    public int UnrollSteps { get; init; } = 20;

    /// <summary>Real images per outer loss evaluation.</summary>
    public int RealBatch { get; init; } = 256;

    public bool LearnLabels { get; init; }

    public bool LearnLearningRate { get; init; }

    public void Validate(string task)
    {
        TaskConfigReader.Range(task, "imagesPerClass", ImagesPerClass, 1, 1000);
        TaskConfigReader.Range(task, "trainSize", TrainSize, 1, 1_000_000);
        TaskConfigReader.Range(task, "testSize", TestSize, 0, 1_000_000);
        TaskConfigReader.Range(task, "channels", Channels, 1, 1024);
        TaskConfigReader.Range(task, "depth", Depth, 1, 5);
        TaskConfigReader.Range(task, "learningRate", LearningRate, 1e-9, 100);
        TaskConfigReader.Range(task, "momentum", Momentum, 0, 0.999);
        TaskConfigReader.Range(task, "unrollSteps", UnrollSteps, 1, 100_000);
        TaskConfigReader.Range(task, "realBatch", RealBatch, 1, 100_000);
        Datasets.Check(task, "dataset", Dataset);
    }

    public CondensationProblem<T> Build<T>(ulong seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var images = Datasets.Load(Dataset);
        if (TrainSize + TestSize > images.Count)
            throw new TaskConfigException("condensation", "trainSize", $"+ testSize = {TrainSize + TestSize} exceeds the {images.Count} examples of {Dataset}.");
        if ((images.Height >> Depth) < 1)
            throw new TaskConfigException("condensation", "depth", $"is {Depth}; {images.Height}×{images.Width} images allow at most {(int)Math.Log2(Math.Min(images.Height, images.Width))}.");
        var split = DataSplit.Create(images, new SplitSizes(TrainSize, 0, TestSize), seed);
        var (train, _, test) = split.Apply(images);
        var model = new ConvNet(images.Channels, images.Height, images.Width, Math.Max(2, images.ClassCount), Channels, Depth);
        return new CondensationProblem<T>(train, test, model, InnerOptimizers.Create(Optimizer, Momentum), ImagesPerClass, UnrollSteps, LearningRate, RealBatch,
            LearnLabels, LearnLearningRate, seed);
    }
}
