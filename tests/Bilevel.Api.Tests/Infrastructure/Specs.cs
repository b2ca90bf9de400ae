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
