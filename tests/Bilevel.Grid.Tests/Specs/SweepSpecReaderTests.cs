using System.Text.Json;
using System.Text.Json.Nodes;
using Bilevel.Contracts;

namespace Bilevel.Grid.Tests.Specs;

public sealed class SweepSpecReaderTests
{
    private static readonly SweepSpecReader Reader = new(EstimatorNames.All);

    [Fact]
    public void A_full_spec_reads_the_same_from_json_and_yaml()
    {
        var json = Reader.ReadJson(SpecSamples.Json);
        var yaml = Reader.ReadYaml(SpecSamples.Yaml);

        Assert.True(json.IsValid, string.Join("\n", json.Errors));
        Assert.True(yaml.IsValid, string.Join("\n", yaml.Errors));
        Assert.True(JsonNode.DeepEquals(ToNode(json.Spec), ToNode(yaml.Spec)));
        var spec = json.Spec;
        Assert.Equal(("hypercleaning", "mnist"), (spec.Task.Kind, spec.Task.Config.GetProperty("dataset").GetString()));
        Assert.Null(spec.Estimator);
        Assert.Equal(("trgu", "fg2u"), (spec.Schedule!.Phase1.Name, spec.Schedule.Phase2.Name));
        Assert.Equal(new CosineSwitch(0.5, 10, 4), spec.Schedule.Switch);
        Assert.Equal((42L, 3, 4), (spec.Search.Seed, spec.Search.Samples, spec.Search.Parameters.Count));
        Assert.Equal(new LogUniformParameter(1e-5, 1e-2), spec.Search.Parameters["weightDecay"]);
        Assert.Equal([0L, 1L], spec.Seeds);
        Assert.Equal((200, 20, 4, 7), (spec.OuterSteps, spec.CheckpointInterval, spec.MaxAttempts, spec.Priority));
        Assert.Equal(new DeviceRequirement(DeviceKind.Cuda, 2), spec.Device);
    }

    [Fact]
    public void Left_out_fields_take_their_defaults_and_a_spec_survives_its_own_serialization()
    {
        var result = Reader.ReadJson(SpecSamples.Minimal);

        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        var spec = result.Spec;
        Assert.Equal(("rgu", 50), (spec.Estimator!.Name, spec.OuterSteps));
        Assert.Equal([0L], spec.Seeds);
        Assert.Equal((SweepSpecDefaults.CheckpointInterval, SweepSpecDefaults.MaxAttempts, 0), (spec.CheckpointInterval, spec.MaxAttempts, spec.Priority));
        Assert.Equal(DeviceRequirement.Cpu, spec.Device);
        Assert.Empty(spec.Search.Parameters);
        var full = Reader.ReadJson(SpecSamples.Json).Spec!;
        var again = Reader.Validate(full);
        Assert.True(again.IsValid, string.Join("\n", again.Errors));
        Assert.True(JsonNode.DeepEquals(ToNode(full), ToNode(again.Spec)));
    }

    [Theory]
    [InlineData("""{"estimator": {"name": "rgu"}, "outerSteps": 1, "task": {"kind": "q"}}""", "$.name", "is required")]
    [InlineData("""{"name": "n", "task": {"kind": "q"}, "estimator": {"name": "rgu"}, "outerSteps": 1, "colour": "red"}""", "$.colour", "allowed fields here: name, task")]
    [InlineData("""{"name": "n", "task": {"kind": "q"}, "estimator": {"name": "rgu"}, "outerSteps": "100"}""", "$.outerSteps", "must be an integer from 1 to 10000000; got the string \"100\"")]
    [InlineData("""{"name": "n", "task": {"kind": "q"}, "estimator": {"name": "rgu"}, "outerSteps": 2.5}""", "$.outerSteps", "must be an integer")]
    [InlineData("""{"name": "n", "task": {"kind": "q"}, "estimator": {"name": "rgu"}, "outerSteps": 0}""", "$.outerSteps", "from 1 to")]
    [InlineData("""{"name": "n", "task": {"kind": "q"}, "estimator": {"name": "sgd"}, "outerSteps": 1}""", "$.estimator.name", "must be one of: rgu, trgu, fgu, fg2u, fg2u-zo, hf, neumann, cg, kfac; got the string \"sgd\"")]
    [InlineData("""{"name": "n", "task": {"kind": "q"}, "outerSteps": 1}""", "$.estimator", "give estimator (one estimator) or schedule")]
    [InlineData("""{"name": "n", "task": {"kind": "q"}, "estimator": {"name": "rgu"}, "schedule": {}, "outerSteps": 1}""", "$.schedule", "not both")]
    [InlineData("""{"name": "n", "task": {"kind": "q"}, "schedule": {"phase1": {"name": "hf"}, "phase2": {"name": "fg2u"}, "switch": {"rule": "fixed-step", "step": 10}}, "outerSteps": 10}""", "$.schedule.switch.step", "less than outerSteps")]
    [InlineData("""{"name": "n", "task": {"kind": "q"}, "schedule": {"phase1": {"name": "hf"}, "phase2": {"name": "fg2u"}, "switch": {"rule": "plateau", "window": 5, "step": 3}}, "outerSteps": 10}""", "$.schedule.switch.step", "not a known field")]
    [InlineData("""{"name": "n", "task": {"kind": "q"}, "schedule": {"phase1": {"name": "hf"}, "phase2": {"name": "fg2u"}, "switch": {"rule": "sometimes"}}, "outerSteps": 10}""", "$.schedule.switch.rule", "fixed-step, plateau, cosine")]
    [InlineData("""{"name": "n", "task": {"kind": "q"}, "estimator": {"name": "rgu"}, "outerSteps": 1, "device": {"kind": "tpu"}}""", "$.device.kind", "must be one of: cpu, cuda")]
    [InlineData("""{"name": "n", "task": {"kind": "q"}, "estimator": {"name": "rgu"}, "outerSteps": 1, "seeds": [1, 1]}""", "$.seeds[1]", "repeats seed 1")]
    [InlineData("""{"name": "n", "task": {"kind": "q"}, "estimator": {"name": "rgu"}, "outerSteps": 1, "seeds": [-1]}""", "$.seeds[0]", "from 0 to")]
    [InlineData("""{"name": "n", "task": {"kind": "q"}, "estimator": {"name": "rgu"}, "outerSteps": 1, "search": {"parameters": {"lr": {"kind": "log-uniform", "low": 0, "high": 1}}}}""", "$.search.parameters.lr.low", "greater than 0")]
    [InlineData("""{"name": "n", "task": {"kind": "q"}, "estimator": {"name": "rgu"}, "outerSteps": 1, "search": {"parameters": {"lr": {"kind": "uniform", "low": 2, "high": 1}}}}""", "$.search.parameters.lr.high", "greater than low")]
    [InlineData("""{"name": "n", "task": {"kind": "q"}, "estimator": {"name": "rgu"}, "outerSteps": 1, "search": {"parameters": {"lr": {"kind": "grid", "values": [0.1, null]}}}}""", "$.search.parameters.lr.values[1]", "got null")]
    [InlineData("""{"name": "n", "task": {"kind": "q"}, "estimator": {"name": "rgu"}, "outerSteps": 1, "search": {"samples": 4}}""", "$.search.samples", "must be 1 when no parameter is drawn at random")]
    [InlineData("""{"name": "n", "task": {"kind": "q"}, "estimator": {"name": "rgu"}, "outerSteps": 1, "search": {"parameters": {"a b": {"kind": "grid", "values": [1]}}}}""", "$.search.parameters['a b']", "parameter names")]
    [InlineData("""{"name": "n", "name": "m", "task": {"kind": "q"}, "estimator": {"name": "rgu"}, "outerSteps": 1}""", "$.name", "appears more than once")]
    [InlineData("""{"name": "n", "task": {"kind": "q", "config": {"x": 1e999}}, "estimator": {"name": "rgu"}, "outerSteps": 1}""", "$.task.config.x", "finite number")]
    [InlineData("""{"name": "n", "task": {"kind": "Q!"}, "estimator": {"name": "rgu"}, "outerSteps": 1}""", "$.task.kind", "lower-case")]
    [InlineData("""{"name": "n", "task": {"kind": "q"}, "estimator": {"name": "rgu", "options": []}, "outerSteps": 1}""", "$.estimator.options", "must be an object; got an array of 0 items")]
    [InlineData("""{"name": "n\tx", "task": {"kind": "q"}, "estimator": {"name": "rgu"}, "outerSteps": 1}""", "$.name", "control characters")]
    [InlineData("""[1, 2]""", "$", "must be an object")]
    [InlineData("""{"name": "n",}""", "$", "is not valid JSON (line 1")]
    [InlineData("", "$", "is not valid JSON")]
    public void A_bad_json_spec_is_rejected_naming_the_field_and_what_is_allowed(string json, string path, string message)
    {
        var result = Reader.ReadJson(json);

        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => e.Path == path && e.Message.Contains(message, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("name: n\ntask: {kind: q}\nestimator: {name: rgu}\nouterSteps: '100'\n", "$.outerSteps", "got the string \"100\"")]
    [InlineData("name: n\ntask: {kind: q}\nestimator: {name: rgu}\nouterSteps: 100\nseeds: &s [1]\nextra: *s\n", "$.extra", "alias")]
    [InlineData("name: n\ntask: {kind: q}\nestimator: {name: rgu}\nouterSteps: 1\n---\nname: m\n", "$", "more than one YAML document")]
    [InlineData("name: n\ntask: {kind: q}\nestimator: {name: rgu}\nouterSteps: .inf\n", "$.outerSteps", "got the string \".inf\"")]
    [InlineData("name: n\ntask: {kind: q}\nestimator: {name: rgu}\nouterSteps: !!int 5\n", "$.outerSteps", "YAML tag")]
    [InlineData("name: n\ntask: {kind: q}\nestimator: {name: rgu}\nouterSteps: 1\ndevice:\n  kind: cpu\n slots: 2\n", "$", "not valid YAML")]
    [InlineData("name: n\ntask:\n  kind: q\n  config:\n    ? [a, b]\n    : 1\nestimator: {name: rgu}\nouterSteps: 1\n", "$.task.config", "keys must be plain names")]
    [InlineData("", "$", "the document is empty")]
    [InlineData("name: n\ntask: {kind: q}\nestimator: {name: rgu}\nouterSteps:\n", "$.outerSteps", "got null")]
    public void A_bad_yaml_spec_is_rejected_naming_the_field(string yaml, string path, string message)
    {
        var result = Reader.ReadYaml(yaml);

        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => e.Path == path && e.Message.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public void Nesting_past_the_limit_is_reported_where_it_happens_in_both_formats()
    {
        var deepJson = """{"name": "n", "task": {"kind": "q", "config": """ + new string('[', 10_000) + new string(']', 10_000) + "}}";
        var deepYaml = "name: n\ntask:\n  kind: q\n  config:\n    a: " + new string('[', 10_000) + new string(']', 10_000) + "\n";

        var json = Assert.Single(Reader.ReadJson(deepJson).Errors);
        var yaml = Assert.Single(Reader.ReadYaml(deepYaml).Errors);

        Assert.StartsWith("$.task.config[0][0]", json.Path, StringComparison.Ordinal);
        Assert.Contains("deeper than 16 levels", json.Message, StringComparison.Ordinal);
        Assert.StartsWith("$.task.config.a[0][0]", yaml.Path, StringComparison.Ordinal);
        Assert.Contains("deeper than 16 levels", yaml.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Oversize_documents_arrays_and_sweeps_are_rejected_with_the_limit()
    {
        var hugeSeeds = SpecSamples.Minimal.Replace("\"outerSteps\"", $"\"seeds\": [{string.Join(",", Enumerable.Range(0, 1001))}], \"outerSteps\"", StringComparison.Ordinal);
        var hugeDocument = SpecSamples.Minimal.Replace("\"m\"", $"\"{new string('x', 2 << 20)}\"", StringComparison.Ordinal);
        var tooManyTrials = SpecSamples.Minimal.Replace("\"outerSteps\"",
            "\"search\": {\"parameters\": {" + string.Join(",", Enumerable.Range(0, 4).Select(i => $"\"p{i}\": {{\"kind\": \"grid\", \"values\": [{string.Join(",", Enumerable.Range(0, 100))}]}}")) + "}}, \"outerSteps\"",
            StringComparison.Ordinal);

        Assert.Contains(Reader.ReadJson(hugeSeeds).Errors, e => e is { Path: "$.seeds" } && e.Message.Contains("1 to 1000 seeds; got 1001", StringComparison.Ordinal));
        Assert.Contains(Reader.ReadJson(hugeDocument).Errors, e => e is { Path: "$" } && e.Message.Contains("at most 1048576 are allowed", StringComparison.Ordinal));
        Assert.Contains(Reader.ReadJson(tooManyTrials).Errors, e => e is { Path: "$.search" } && e.Message.Contains("1E+08 trials", StringComparison.Ordinal));
    }

    [Fact]
    public void The_estimator_registry_passed_in_decides_which_names_are_known()
    {
        var onlyRgu = new SweepSpecReader(["rgu"]);
        var twoPhase = SpecSamples.Json;

        var errors = onlyRgu.ReadJson(twoPhase).Errors;

        Assert.Contains(errors, e => e.Path == "$.schedule.phase1.name" && e.Message.StartsWith("must be one of: rgu;", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Path == "$.schedule.phase2.name");
        Assert.True(onlyRgu.ReadJson(SpecSamples.Minimal).IsValid);
    }

    [Fact]
    public void Errors_become_a_problem_details_body_grouped_by_path()
    {
        var result = Reader.ReadJson("""{"name": 5, "task": {"kind": "q"}, "estimator": {"name": "nope"}, "outerSteps": -1}""");

        var problem = result.ToProblem();

        Assert.Equal(400, problem.Status);
        Assert.Equal(["$.estimator.name", "$.name", "$.outerSteps"], problem.Errors.Keys.Order(StringComparer.Ordinal));
        Assert.Contains("3 errors", problem.Detail, StringComparison.Ordinal);
        var json = JsonSerializer.Serialize(problem, ContractJson.Options);
        Assert.Contains("\"errors\":{\"$.name\":[\"must be a string; got the number 5\"]", json, StringComparison.Ordinal);
    }

    private static JsonNode? ToNode(SweepSpec? spec) => JsonNode.Parse(JsonSerializer.Serialize(spec, ContractJson.Options));
}
