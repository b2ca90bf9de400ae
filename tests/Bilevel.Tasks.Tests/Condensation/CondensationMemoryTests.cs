using System.Text.Json;
using Bilevel.Hypergradients;
using Bilevel.Tasks.Condensation;
using Bilevel.Tensors;

namespace Bilevel.Tasks.Tests.Condensation;

/// <summary>
/// The forward-mode outer objective holds one part of the real batch at a time: its peak is well below that of the
/// whole batch's forward pass with the same tangents, and its value and tangents are the same. Alone in its
/// collection, since the tensor high-water mark is process-wide.
/// </summary>
[Collection(nameof(CondensationMemoryTests))]
[CollectionDefinition(nameof(CondensationMemoryTests), DisableParallelization = true)]
public sealed class CondensationMemoryTests
{
    private const long OuterStep = 2;

    [Fact]
    public void ForwardOuterObjectiveHoldsOnePartOfTheRealBatchAtATime()
    {
        using var scope = TensorScope.Begin();
        // 64 real images against 10 synthetic ones: 7 parts of at most 10 images.
        var problem = (CondensationProblem<double>)TaskCatalog.Create<double>(TaskCatalog.Condensation, JsonDocument.Parse(
            """{ "imagesPerClass": 1, "channels": 4, "depth": 2, "unrollSteps": 3, "trainSize": 500, "testSize": 200, "realBatch": 64 }""").RootElement, seed: 3);
        var phi = problem.InitialPhi();
        var directions = Tensor<double>.Zeros(4, problem.OuterSize);
        new CounterRandom(4, 0, "test-directions").FillGaussian(directions.Span);

        var (parts, partsPeak) = PeakOf(p => InnerDynamics.OuterObjective(problem, p, OuterStep), phi, directions);
        var (whole, wholePeak) = PeakOf(p =>
        {
            var final = InnerDynamics.Run(problem, InnerDynamics.Start(problem, OuterStep), p, OuterStep, 1, problem.UnrollSteps);
            return problem.OuterLoss(final.Theta, p, OuterStep);
        }, phi, directions);

        Assert.True(partsPeak < wholePeak / 2, $"outer objective in {problem.OuterParts} parts peaked at {partsPeak} B, the whole batch at {wholePeak} B");
        Assert.Equal(whole.Value, parts.Value, 1e-12);
        for (int i = 0; i < 4; i++)
            Assert.True(Math.Abs(parts.Tangents[i] - whole.Tangents[i]) <= 1e-10 * Math.Abs(whole.Tangents[i]),
                $"direction {i}: ∇h·v {parts.Tangents[i]} in parts vs {whole.Tangents[i]} whole");
    }

    /// <summary>The objective's value and tangents along the rows of <paramref name="directions"/>, and the tensor peak above the live bytes before.</summary>
    private static ((double Value, double[] Tangents) Result, long Peak) PeakOf(Func<Tensor<double>, Tensor<double>> objective, Tensor<double> phi, Tensor<double> directions)
    {
        using var scope = TensorScope.Begin();
        long before = TensorMemory.LiveBytes;
        TensorMemory.ResetPeak();
        var (values, tangents) = Autodiff.JvpStacked(p => [objective(p[0])], [phi], [directions]);
        long peak = TensorMemory.PeakBytes - before;
        return ((values[0].Item(), tangents[0].ToArray()), peak);
    }
}
