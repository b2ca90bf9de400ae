using System.Text.Json;
using Bilevel.Contracts;

namespace Bilevel.Api.Tests.Infrastructure;

/// <summary>Sweep specs for the tests.</summary>
internal static class Specs
{
    public const string MinimalJson = """{"name": "tiny", "task": {"kind": "quadratic"}, "estimator": {"name": "rgu"}, "outerSteps": 20}""";

    public const string MinimalYaml = """
        name: tiny yaml
        task:
          kind: quadratic
        estimator:
          name: fg2u
          options: { directions: 4 }
        seeds: [0, 1, 2]
        outerSteps: 20
        """;

    /// <summary>A valid spec using every part of the schema; the seed of the fuzz corpus.</summary>
    public const string Full = """
        {
          "name": "hypercleaning two-phase",
          "task": { "kind": "hypercleaning", "config": { "dataset": "mnist", "noise": 0.5, "hidden": [128, 64] } },
          "schedule": {
            "phase1": { "name": "trgu", "options": { "k": 10 } },
            "phase2": { "name": "fg2u", "options": { "directions": 8 } },
            "switch": { "rule": "cosine", "threshold": 0.5, "every": 10, "directions": 4 }
          },
          "search": {
            "seed": 42,
            "samples": 3,
            "parameters": {
              "lr": { "kind": "grid", "values": [0.1, 0.01] },
              "optimizer": { "kind": "choice", "values": ["sgd", "adam"] },
              "momentum": { "kind": "uniform", "low": 0.5, "high": 0.99 },
              "weightDecay": { "kind": "log-uniform", "low": 1e-5, "high": 1e-2 }
            }
          },
          "seeds": [0, 1],
          "outerSteps": 200,
          "checkpointInterval": 20,
          "device": { "kind": "cpu", "slots": 2 },
          "maxAttempts": 4,
          "priority": 7
        }
        """;

    /// <summary>Trials for the seeded data: cuda and top priority, so claims in tests take only these.</summary>
    public static SweepSpec Searched(int seeds) => new()
    {
        Name = "searched",
        Task = new TaskSpec("quadratic", ContractJson.EmptyObject),
        Estimator = new EstimatorSpec(EstimatorNames.Rgu, ContractJson.EmptyObject),
        Search = new SearchSpace(3, 1, new Dictionary<string, SearchParameter>
        {
            ["lr"] = new GridParameter([Json("0.1"), Json("0.01")]),
            ["label"] = new ChoiceParameter([Json("\"a,b\"")]),
        }),
        Seeds = Enumerable.Range(0, seeds).Select(i => (long)i).ToArray(),
        OuterSteps = 10,
        CheckpointInterval = 5,
        Device = new DeviceRequirement(DeviceKind.Cuda, 1),
        Priority = 1000,
    };

    public static JsonElement Json(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
