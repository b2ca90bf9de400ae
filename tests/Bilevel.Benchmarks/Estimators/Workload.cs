using System.Globalization;
using Bilevel.Hypergradients;
using Bilevel.Tasks.Condensation;
using Bilevel.Tasks.Hypercleaning;
using Bilevel.Tensors;

namespace Bilevel.Benchmarks.Estimators;

/// <summary>A task instance with the files and arguments that let the PyTorch peer build the same one.</summary>
internal sealed record Workload(string Name, string Description, IBilevelProblem<float> Problem, Tensor<float> Phi, string TorchArguments, Action<string> WriteFiles)
{
    /// <summary>The outer step whose hypergradient both sides compute.</summary>
    public const long OuterStep = 1;

    private const ulong Seed = 7;

    public static IReadOnlyList<string> Tasks { get; } = ["hypercleaning", "condensation"];

    /// <summary>The benchmark's instance of <paramref name="name"/>, or a tiny one that compiles the same code paths.</summary>
    public static Workload Build(string name, int width, bool tiny) => name switch
    {
        "hypercleaning" => Hypercleaning(tiny),
        "condensation" => Condensation(width, tiny),
        _ => throw new ArgumentException($"unknown benchmark task '{name}'", nameof(name)),
    };

    private static Workload Hypercleaning(bool tiny)
    {
        var config = new HypercleaningConfig
        {
            TrainSize = tiny ? 100 : 1000,
            ValidationSize = tiny ? 50 : 1000,
            TestSize = 0,
            Hidden = [tiny ? 16 : 256],
            LearningRate = 0.1,
            WeightDecay = 1e-3,
            UnrollSteps = tiny ? 3 : 50,
            BatchSize = tiny ? 20 : 100,
        };
        var problem = config.Build<float>(Seed);
        var phi = problem.InitialPhi();
        var data = problem.Data;
        string arguments = string.Create(CultureInfo.InvariantCulture,
            $"--task hypercleaning --steps {config.UnrollSteps} --lr {config.LearningRate:R} --wd {config.WeightDecay:R} --hidden {config.Hidden[0]} --train {config.TrainSize} --val {config.ValidationSize} --batch {config.BatchSize} --fg2u-mode vmap");
        void Write(string dir)
        {
            RawFiles.WriteFloats(dir, "theta0.bin", problem.InitialTheta(OuterStep));
            RawFiles.WriteFloats(dir, "phi.bin", phi);
            RawFiles.WriteFloats(dir, "x_train.bin", data.Train.FlatImageBatch<float>(Enumerable.Range(0, data.Train.Count).ToArray()));
            RawFiles.WriteInts(dir, "y_train.bin", data.Train.Labels);
            RawFiles.WriteFloats(dir, "x_val.bin", data.Validation.FlatImageBatch<float>(Enumerable.Range(0, data.Validation.Count).ToArray()));
            RawFiles.WriteInts(dir, "y_val.bin", data.Validation.Labels);
            RawFiles.WriteInts(dir, "batches.bin", Enumerable.Range(1, problem.UnrollSteps).SelectMany(t => problem.InnerBatch(OuterStep, t)).ToArray());
        }
        return new Workload("hypercleaning", string.Create(CultureInfo.InvariantCulture,
            $"MLP 784-{config.Hidden[0]}-10, SGD lr {config.LearningRate} + weight decay {config.WeightDecay}, T = {config.UnrollSteps}, batch {config.BatchSize}, N = {problem.OuterSize} weights, M = {problem.InnerSize}, {config.ValidationSize} validation examples"),
            problem, phi, arguments, Write);
    }

    private static Workload Condensation(int width, bool tiny)
    {
        var config = new CondensationConfig
        {
            ImagesPerClass = tiny ? 1 : 10,
            Channels = tiny ? 4 : width,
            Depth = 3,
            UnrollSteps = tiny ? 2 : 20,
            RealBatch = tiny ? 16 : 256,
            LearningRate = 0.01,
        };
        var task = config.Build<float>(Seed);
        var phi = task.InitialPhi();
        string arguments = string.Create(CultureInfo.InvariantCulture,
            $"--task condensation --steps {config.UnrollSteps} --lr {config.LearningRate:R} --width {config.Channels} --depth {config.Depth} --ipc {config.ImagesPerClass} --real-batch {config.RealBatch} --fg2u-mode vmap");
        void Write(string dir)
        {
            var batch = task.RealBatch(OuterStep);
            RawFiles.WriteFloats(dir, "theta0.bin", task.InitialTheta(OuterStep));
            RawFiles.WriteFloats(dir, "phi.bin", phi);
            RawFiles.WriteFloats(dir, "x_real.bin", task.Train.ImageBatch<float>(batch));
            RawFiles.WriteInts(dir, "y_real.bin", task.Train.LabelBatch(batch));
        }
        return new Workload("condensation", string.Create(CultureInfo.InvariantCulture,
            $"ConvNet width {config.Channels}, depth {config.Depth}, IPC {config.ImagesPerClass} (N = {task.OuterSize} pixels), SGD lr {config.LearningRate}, T = {config.UnrollSteps}, real batch {config.RealBatch}, M = {task.InnerSize}"),
            task, phi, arguments, Write);
    }
}
