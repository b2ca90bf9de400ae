using System.Text.Json;
using Bilevel.Contracts;

namespace Bilevel.Silo.Tests.Infrastructure;

/// <summary>Sweep specs on the built-in quadratic task, from tiny (scheduling tests) to a few seconds per trial.</summary>
internal static class QuadraticSpecs
{
    /// <summary>Trials of a few milliseconds: 4 outer steps of RGU through 3 inner steps on a 4×2 problem.</summary>
    public static SweepSpec Tiny(int trials, int maxAttempts = 3, string name = "tiny") => new()
    {
        Name = name,
        Task = new TaskSpec("quadratic", Json("""{"innerSize": 4, "outerSize": 2, "unrollSteps": 3}""")),
        Estimator = new EstimatorSpec(EstimatorNames.Rgu, ContractJson.EmptyObject),
        Seeds = Enumerable.Range(0, trials).Select(i => (long)i).ToArray(),
        OuterSteps = 4,
        CheckpointInterval = 2,
        MaxAttempts = maxAttempts,
    };

    /// <summary>
    /// A two-phase trial with state in every part of its checkpoint: TRGU(5) → FG2U(b = 4) after step
    /// <paramref name="switchStep"/>, Adam on φ, momentum inside.
    /// </summary>
    public static SweepSpec TwoPhase(int outerSteps, int checkpointInterval, int switchStep, int innerSize = 16, int unrollSteps = 20,
        int seeds = 1, int maxAttempts = 3, string name = "two-phase") => new()
    {
        Name = name,
        Task = new TaskSpec("quadratic", Json($$"""
            {"innerSize": {{innerSize}}, "outerSize": 6, "unrollSteps": {{unrollSteps}}, "optimizer": "momentum", "learningRate": 0.1,
             "outer": {"optimizer": "adam", "learningRate": 0.05} }
            """)),
        Schedule = new TwoPhaseSchedule(
            new EstimatorSpec(EstimatorNames.Trgu, Json("""{"k": 5}""")),
            new EstimatorSpec(EstimatorNames.Fg2u, Json("""{"directions": 4}""")),
            new FixedStepSwitch(switchStep)),
        Seeds = Enumerable.Range(0, seeds).Select(i => 11L + i).ToArray(),
        OuterSteps = outerSteps,
        CheckpointInterval = checkpointInterval,
        MaxAttempts = maxAttempts,
    };

    public static SweepSpec Single(string estimator, string options, int outerSteps = 6, int checkpointInterval = 2, string? outer = null, string name = "single") => new()
    {
        Name = name,
        Task = new TaskSpec("quadratic", Json(outer is null
            ? """{"innerSize": 8, "outerSize": 3, "unrollSteps": 5}"""
            : $$"""{"innerSize": 8, "outerSize": 3, "unrollSteps": 5, "outer": {{outer}} }""")),
        Estimator = new EstimatorSpec(estimator, Json(options)),
        OuterSteps = outerSteps,
        CheckpointInterval = checkpointInterval,
    };

    public static JsonElement Json(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
