using System.Text.Json;
using Bilevel.Contracts;

namespace Bilevel.Grid.Tests.Infrastructure;

/// <summary>Sweep specs for store tests.</summary>
internal static class TestSpecs
{
    public static SweepSpec Simple(
        int trials, int priority = 0, DeviceKind device = DeviceKind.Cpu, int slots = 1, int maxAttempts = 3, string name = "sweep") => new()
    {
        Name = name,
        Task = new TaskSpec("quadratic", ContractJson.EmptyObject),
        Estimator = new EstimatorSpec(EstimatorNames.Rgu, ContractJson.EmptyObject),
        Seeds = Enumerable.Range(0, trials).Select(i => (long)i).ToArray(),
        OuterSteps = 100,
        Device = new DeviceRequirement(device, slots),
        MaxAttempts = maxAttempts,
        Priority = priority,
    };

    /// <summary>2 × 3 grid points × 2 random samples × 2 seeds = 24 trials.</summary>
    public static SweepSpec Searched() => Simple(1) with
    {
        Name = "searched",
        Task = new TaskSpec("hypercleaning", Json("""{"dataset": "mnist", "noise": 0.5, "layers": [784, 10]}""")),
        Schedule = new TwoPhaseSchedule(
            new EstimatorSpec(EstimatorNames.Trgu, Json("""{"k": 10}""")),
            new EstimatorSpec(EstimatorNames.Fg2u, Json("""{"directions": 8}""")),
            new PlateauSwitch(10, 1e-3)),
        Estimator = null,
        Search = new SearchSpace(7, 2, new Dictionary<string, SearchParameter>
        {
            ["lr"] = new GridParameter([Json("0.1"), Json("0.01")]),
            ["depth"] = new GridParameter([Json("1"), Json("2"), Json("3")]),
            ["optimizer"] = new ChoiceParameter([Json("\"sgd\""), Json("\"adam\"")]),
            ["weightDecay"] = new LogUniformParameter(1e-5, 1e-2),
        }),
        Seeds = [1, 2],
    };

    public static JsonElement Json(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
