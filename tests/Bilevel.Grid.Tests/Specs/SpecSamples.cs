namespace Bilevel.Grid.Tests.Specs;

/// <summary>A valid spec using every part of the schema, in JSON and in YAML.</summary>
internal static class SpecSamples
{
    public const string Json = """
        {
          "name": "hypercleaning two-phase",
          "task": { "kind": "hypercleaning", "config": { "dataset": "mnist", "noise": 0.5, "hidden": [128, 64] } },
          "schedule": {
            "phase1": { "name": "trgu", "options": { "k": 10 } },
            "phase2": { "name": "fg2u", "options": { "directions": 8, "distribution": "rademacher" } },
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
          "device": { "kind": "cuda", "slots": 2 },
          "maxAttempts": 4,
          "priority": 7
        }
        """;

    public const string Yaml = """
        # The same spec as SpecSamples.Json.
        name: hypercleaning two-phase
        task:
          kind: hypercleaning
          config:
            dataset: mnist
            noise: 0.5
            hidden: [128, 64]
        schedule:
          phase1: { name: trgu, options: { k: 10 } }
          phase2:
            name: fg2u
            options:
              directions: 8
              distribution: rademacher
          switch:
            rule: cosine
            threshold: 0.5
            every: 10
            directions: 4
        search:
          seed: 42
          samples: 3
          parameters:
            lr: { kind: grid, values: [0.1, 0.01] }
            optimizer: { kind: choice, values: [sgd, adam] }
            momentum: { kind: uniform, low: 0.5, high: 0.99 }
            weightDecay: { kind: log-uniform, low: 1.0e-5, high: 1.0e-2 }
        seeds: [0, 1]
        outerSteps: 200
        checkpointInterval: 20
        device:
          kind: cuda
          slots: 2
        maxAttempts: 4
        priority: 7
        """;

    public const string Minimal = """{"name": "m", "task": {"kind": "quadratic"}, "estimator": {"name": "rgu"}, "outerSteps": 50}""";
}
