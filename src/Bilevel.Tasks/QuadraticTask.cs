using System.Numerics;
using Bilevel.Hypergradients;
using Bilevel.Hypergradients.Problems;
using Bilevel.Tasks.Config;

namespace Bilevel.Tasks;

/// <summary>Configuration of the built-in quadratic problem (see <see cref="QuadraticProblem{T}"/>).</summary>
public sealed record QuadraticConfig : ITaskConfig
{
    public int InnerSize { get; init; } = 20;

    public int OuterSize { get; init; } = 5;

    public int UnrollSteps { get; init; } = 20;

    public InnerOptimizerKind Optimizer { get; init; } = InnerOptimizerKind.Sgd;

    public double LearningRate { get; init; } = 0.1;

    public double Momentum { get; init; } = 0.9;

    public double Conditioning { get; init; } = 4;

    public void Validate(string task)
    {
        TaskConfigReader.Range(task, "innerSize", InnerSize, 1, 4096);
        TaskConfigReader.Range(task, "outerSize", OuterSize, 1, 4096);
        TaskConfigReader.Range(task, "unrollSteps", UnrollSteps, 0, 100_000);
        TaskConfigReader.Range(task, "conditioning", Conditioning, 1, 1e6);
        TaskConfigReader.Range(task, "momentum", Momentum, 0, 0.999);
        // SGD on A with eigenvalues in [1, κ] is stable only for η < 2/κ.
        TaskConfigReader.Range(task, "learningRate", LearningRate, 1e-9, 2 / Conditioning);
    }

    public IBilevelProblem<T> Build<T>(ulong seed) where T : unmanaged, IFloatingPointIeee754<T>
        => new QuadraticProblem<T>(InnerSize, OuterSize, UnrollSteps, InnerOptimizers.Create(Optimizer, Momentum), LearningRate, seed, Conditioning);
}
