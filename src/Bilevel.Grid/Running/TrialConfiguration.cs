using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Bilevel.Contracts;
using Bilevel.Grid.Running.Internal;

namespace Bilevel.Grid.Running;

/// <summary>
/// What one trial runs: its sweep's spec with the trial's searched parameter values merged in, and its seed.
/// </summary>
/// <remarks>
/// <para>A search parameter's name addresses the spec field it sets, as <c>PREFIX.PATH</c>:</para>
/// <list type="table">
/// <item><term><c>task.PATH</c></term><description>the task config, <c>task.config.PATH</c> (e.g. <c>task.learningRate</c>, <c>task.model.hidden</c>)</description></item>
/// <item><term><c>estimator.PATH</c></term><description>the estimator's options, <c>estimator.options.PATH</c> (e.g. <c>estimator.directions</c>); <c>estimator.name</c> sets the estimator itself</description></item>
/// <item><term><c>phase1.PATH</c>, <c>phase2.PATH</c></term><description>the options (or, with <c>.name</c>, the estimator) of a two-phase schedule's phases, <c>schedule.phaseN.options.PATH</c></description></item>
/// <item><term><c>switch.FIELD</c></term><description>the schedule's switch rule, <c>schedule.switch.FIELD</c> (e.g. <c>switch.step</c>, <c>switch.rule</c>)</description></item>
/// <item><term><c>outer.FIELD</c></term><description>the outer loop's settings, the task config's reserved member <c>task.config.outer.FIELD</c> (see <see cref="OuterSettings"/>)</description></item>
/// </list>
/// <para>A PATH of several dot-separated names descends into nested objects, creating the missing ones; the value
/// replaces what the spec had there. A name without one of these prefixes, two names of which one is inside the
/// other (<c>task.model</c> and <c>task.model.hidden</c>), a <c>phaseN.</c> or <c>switch.</c> name in a spec without a
/// schedule and an <c>estimator.</c> name in a spec with one are errors naming the parameter. Values that a prefix's
/// consumer then refuses (the task, the estimator, the switch rule, the outer settings) are reported at their spec
/// path with the parameter that set them.</para>
/// </remarks>
public sealed record TrialConfiguration
{
    private static readonly string[] Prefixes = ["task", "estimator", "phase1", "phase2", "switch", "outer"];

    public required string TaskKind { get; init; }

    /// <summary>The task config as the task sees it: searched values merged in, the reserved <c>outer</c> member removed.</summary>
    public required JsonElement TaskConfig { get; init; }

    /// <summary>The single estimator, with searched options merged in; null when <see cref="Schedule"/> is set.</summary>
    public EstimatorSpec? Estimator { get; init; }

    /// <summary>The two-phase schedule, with searched options and switch fields merged in; null for a single estimator.</summary>
    public Contracts.TwoPhaseSchedule? Schedule { get; init; }

    public required OuterSettings Outer { get; init; }

    public required long Seed { get; init; }

    public required int OuterSteps { get; init; }

    public required int CheckpointInterval { get; init; }

    /// <summary>A hash of everything that determines the trial's arithmetic, stored in its checkpoints.</summary>
    public ulong Fingerprint { get; init; }

    internal ParameterOrigins Origins { get; init; } = ParameterOrigins.None;

    /// <summary>Merges <paramref name="parameters"/> (a JSON object of searched values) into <paramref name="spec"/>.</summary>
    /// <exception cref="TrialConfigException">A parameter addresses nothing, or a merged value is invalid.</exception>
    public static TrialConfiguration Resolve(SweepSpec spec, JsonElement parameters, long seed)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var origins = new ParameterOrigins();
        var task = ObjectOf(spec.Task.Config, "task.config", origins);
        JsonObject outer;
        if (task.TryGetPropertyValue(OuterSettings.ReservedMember, out var outerNode))
        {
            task.Remove(OuterSettings.ReservedMember);
            outer = outerNode as JsonObject ?? throw new TrialConfigException($"task.config.{OuterSettings.ReservedMember}",
                "must be a JSON object of outer-loop settings (optimizer, learningRate, …).");
        }
        else
        {
            outer = [];
        }

        var estimator = spec.Estimator is { } e ? new Phase(e.Name, ObjectOf(e.Options, "estimator.options", origins)) : null;
        var schedule = spec.Schedule;
        var phase1 = schedule is null ? null : new Phase(schedule.Phase1.Name, ObjectOf(schedule.Phase1.Options, "schedule.phase1.options", origins));
        var phase2 = schedule is null ? null : new Phase(schedule.Phase2.Name, ObjectOf(schedule.Phase2.Options, "schedule.phase2.options", origins));
        var switchRule = schedule is null ? null : JsonSerializer.SerializeToNode(schedule.Switch, ContractJson.Options)!.AsObject();

        var named = ReadParameters(parameters);
        foreach (var (name, value) in named)
        {
            var dot = name.IndexOf('.', StringComparison.Ordinal);
            var prefix = dot > 0 ? name[..dot] : "";
            var path = dot > 0 ? name[(dot + 1)..] : "";
            if (!Prefixes.Contains(prefix) || path.Length == 0 || path.Split('.').Any(p => p.Length == 0))
                throw new TrialConfigException($"params.{name}",
                    "addresses no spec field: a search parameter is named PREFIX.PATH with PREFIX one of " +
                    $"{string.Join(", ", Prefixes)} (e.g. task.learningRate, estimator.directions, outer.learningRate).");
            var shown = value.ValueKind == JsonValueKind.String ? $"\"{value.GetString()}\"" : value.GetRawText();
            switch (prefix)
            {
                case "task":
                    Set(task, path, value, $"task.config.{path}", name);
                    break;
                case "outer":
                    Set(outer, path, value, $"task.config.outer.{path}", name);
                    break;
                case "estimator":
                    if (estimator is null)
                        throw new TrialConfigException($"params.{name}", "sets an estimator option, but the spec runs a two-phase schedule: name it phase1.… or phase2.….");
                    estimator = SetPhase(estimator, path, value, "estimator", name);
                    break;
                case "phase1" or "phase2":
                    if (schedule is null)
                        throw new TrialConfigException($"params.{name}", "sets a phase of a two-phase schedule, but the spec runs a single estimator: name it estimator.….");
                    if (prefix == "phase1")
                        phase1 = SetPhase(phase1!, path, value, "schedule.phase1", name);
                    else
                        phase2 = SetPhase(phase2!, path, value, "schedule.phase2", name);
                    break;
                case "switch":
                    if (schedule is null)
                        throw new TrialConfigException($"params.{name}", "sets the switch rule of a two-phase schedule, but the spec runs a single estimator.");
                    Set(switchRule!, path, value, $"schedule.switch.{path}", name);
                    break;
            }
            origins.Add(FieldOf(prefix, path), name, shown);
        }

        var settings = OuterSettings.Read(JsonSerializer.SerializeToElement(outer), "task.config.outer", origins);
        var resolvedSchedule = schedule is null ? null : new Contracts.TwoPhaseSchedule(
            phase1!.ToSpec(), phase2!.ToSpec(), ReadSwitch(switchRule!, spec.OuterSteps, origins));
        var configuration = new TrialConfiguration
        {
            TaskKind = spec.Task.Kind,
            TaskConfig = JsonSerializer.SerializeToElement(task),
            Estimator = estimator?.ToSpec(),
            Schedule = resolvedSchedule,
            Outer = settings,
            Seed = seed,
            OuterSteps = spec.OuterSteps,
            CheckpointInterval = spec.CheckpointInterval,
            Origins = origins,
        };
        return configuration with { Fingerprint = FingerprintOf(configuration) };
    }

    /// <summary>The spec path an addressed parameter sets.</summary>
    private static string FieldOf(string prefix, string path) => prefix switch
    {
        "task" => $"task.config.{path}",
        "outer" => $"task.config.outer.{path}",
        "estimator" => path == "name" ? "estimator.name" : $"estimator.options.{path}",
        "phase1" or "phase2" => path == "name" ? $"schedule.{prefix}.name" : $"schedule.{prefix}.options.{path}",
        _ => $"schedule.switch.{path}",
    };

    private static List<(string Name, JsonElement Value)> ReadParameters(JsonElement parameters)
    {
        if (parameters.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
            return [];
        if (parameters.ValueKind != JsonValueKind.Object)
            throw new TrialConfigException("params", "must be a JSON object of searched values.");
        var named = parameters.EnumerateObject().Select(p => (p.Name, p.Value)).OrderBy(p => p.Name, StringComparer.Ordinal).ToList();
        foreach (var (inner, _) in named)
        {
            foreach (var (outer, _) in named)
            {
                if (inner.Length > outer.Length && inner.StartsWith(outer, StringComparison.Ordinal) && inner[outer.Length] == '.')
                    throw new TrialConfigException($"params.{inner}", $"lies inside search parameter '{outer}', which replaces the whole value.");
            }
        }
        return named;
    }

    private static JsonObject ObjectOf(JsonElement value, string path, ParameterOrigins origins)
    {
        if (value.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
            return [];
        if (value.ValueKind != JsonValueKind.Object)
            throw origins.Error(path, $"must be a JSON object, got {OptionReader.Describe(value)}.");
        return JsonObject.Create(value.Clone())!;
    }

    private static void Set(JsonObject target, string path, JsonElement value, string field, string parameter)
    {
        var names = path.Split('.');
        var node = target;
        for (var i = 0; i < names.Length - 1; i++)
        {
            if (!node.TryGetPropertyValue(names[i], out var child) || child is null)
            {
                child = new JsonObject();
                node[names[i]] = child;
            }
            node = child as JsonObject ?? throw new TrialConfigException($"params.{parameter}",
                $"descends into {field[..(field.Length - path.Length)]}{string.Join('.', names[..(i + 1)])}, which is not an object.");
        }
        node[names[^1]] = JsonNode.Parse(value.GetRawText());
    }

    private static Phase SetPhase(Phase phase, string path, JsonElement value, string specPath, string parameter)
    {
        if (path != "name")
        {
            Set(phase.Options, path, value, $"{specPath}.options.{path}", parameter);
            return phase;
        }
        if (value.ValueKind != JsonValueKind.String)
            throw new TrialConfigException($"params.{parameter}", $"sets {specPath}.name, which is an estimator name (a string), got {OptionReader.Describe(value)}.");
        return phase with { Name = value.GetString()! };
    }

    private static Contracts.SwitchRule ReadSwitch(JsonObject json, int outerSteps, ParameterOrigins origins)
    {
        var reader = new OptionReader(JsonSerializer.SerializeToElement(json), "schedule.switch", origins);
        var rule = reader.Choice("rule", "", ["fixed-step", "plateau", "cosine"]);
        Contracts.SwitchRule result = rule switch
        {
            "fixed-step" => new FixedStepSwitch(reader.RequiredInt("step", 1, Math.Max(1, outerSteps - 1), "the outer step after which phase II starts")),
            "plateau" => new PlateauSwitch(
                reader.RequiredInt("window", 1, 1_000_000, "outer steps the loss must stall for"),
                reader.Number("minImprovement", 0, 0, 1)),
            "cosine" => new CosineSwitch(
                reader.Number("threshold", 0, -1, 1),
                reader.RequiredInt("every", 1, 1_000_000, "outer steps between probes"),
                reader.RequiredInt("directions", 1, 1 << 16, "fg2u directions of a probe")),
            _ => throw origins.Error("schedule.switch.rule", "must be one of \"fixed-step\", \"plateau\", \"cosine\"."),
        };
        reader.RejectUnknown(rule switch
        {
            "fixed-step" => ["rule", "step"],
            "plateau" => ["rule", "window", "minImprovement"],
            _ => ["rule", "threshold", "every", "directions"],
        });
        return result;
    }

    private static ulong FingerprintOf(TrialConfiguration c)
    {
        // Canonical: keys sorted, numbers as shortest round-trip doubles, so a spec read back from a database that
        // reorders keys or rewrites numbers (jsonb) has the same fingerprint.
        var text = new StringBuilder()
            .Append(c.TaskKind).Append('\n');
        Canonical(c.TaskConfig, text);
        text.Append('\n');
        Canonical(JsonSerializer.SerializeToElement(c.Estimator, ContractJson.Options), text);
        text.Append('\n');
        Canonical(JsonSerializer.SerializeToElement(c.Schedule, ContractJson.Options), text);
        text.Append('\n').Append(c.Outer.ToString()).Append('\n').Append(c.Seed.ToString(CultureInfo.InvariantCulture));
        return BitConverter.ToUInt64(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())), 0);
    }

    private static void Canonical(JsonElement value, StringBuilder text)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                text.Append('{');
                foreach (var member in value.EnumerateObject().OrderBy(m => m.Name, StringComparer.Ordinal))
                {
                    text.Append(JsonSerializer.Serialize(member.Name)).Append(':');
                    Canonical(member.Value, text);
                    text.Append(',');
                }
                text.Append('}');
                break;
            case JsonValueKind.Array:
                text.Append('[');
                foreach (var item in value.EnumerateArray())
                {
                    Canonical(item, text);
                    text.Append(',');
                }
                text.Append(']');
                break;
            case JsonValueKind.Number:
                text.Append(value.GetDouble().ToString("R", CultureInfo.InvariantCulture));
                break;
            default:
                text.Append(value.GetRawText());
                break;
        }
    }

    private sealed record Phase(string Name, JsonObject Options)
    {
        public EstimatorSpec ToSpec() => new(Name, JsonSerializer.SerializeToElement(Options));
    }
}
