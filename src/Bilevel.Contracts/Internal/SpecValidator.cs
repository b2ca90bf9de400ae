using System.Text.Json;
using System.Text.RegularExpressions;

namespace Bilevel.Contracts.Internal;

/// <summary>
/// Checks a parsed spec document field by field and builds the typed <see cref="SweepSpec"/>. Every problem is
/// reported with its path; none throws.
/// </summary>
internal sealed partial class SpecValidator(IReadOnlyCollection<string> knownEstimators, SpecLimits limits)
{
    private static readonly string[] DeviceKinds = ["cpu", "cuda"];

    public SweepSpec? Validate(JsonElement root, SpecErrors errors)
    {
        var fields = ObjectFields.Of(root, JsonPathText.Root, errors);
        if (fields is null)
            return null;
        var before = errors.Count;

        var name = fields.TryGetRequired("name", out var nameValue) ? ReadName(nameValue, fields.PathOf("name"), errors) : null;
        var task = fields.TryGetRequired("task", out var taskValue) ? ReadTask(taskValue, fields.PathOf("task"), errors) : null;

        var estimators = new EstimatorReader(knownEstimators, limits, errors);
        var hasEstimator = fields.TryGet("estimator", out var estimatorValue);
        var hasSchedule = fields.TryGet("schedule", out var scheduleValue);
        var estimator = hasEstimator ? estimators.ReadEstimator(estimatorValue, fields.PathOf("estimator")) : null;
        var schedule = hasSchedule ? estimators.ReadSchedule(scheduleValue, fields.PathOf("schedule")) : null;
        if (hasEstimator == hasSchedule)
        {
            errors.Add(fields.PathOf(hasEstimator ? "schedule" : "estimator"), hasEstimator
                ? "give either estimator (one estimator) or schedule (two phases), not both"
                : "is required: give estimator (one estimator) or schedule (two phases)");
        }

        var search = fields.TryGet("search", out var searchValue)
            ? new SearchSpaceReader(limits, errors).Read(searchValue, fields.PathOf("search"))
            : SearchSpace.Empty;
        var seeds = fields.TryGet("seeds", out var seedsValue) ? ReadSeeds(seedsValue, fields.PathOf("seeds"), errors) : [0];
        var outerSteps = fields.TryGetRequired("outerSteps", out var stepsValue)
            ? Scalars.Int(stepsValue, fields.PathOf("outerSteps"), errors, 1, limits.MaxOuterSteps)
            : null;
        var checkpointInterval = fields.TryGet("checkpointInterval", out var intervalValue)
            ? Scalars.Int(intervalValue, fields.PathOf("checkpointInterval"), errors, 1, limits.MaxOuterSteps)
            : SweepSpecDefaults.CheckpointInterval;
        var device = fields.TryGet("device", out var deviceValue)
            ? ReadDevice(deviceValue, fields.PathOf("device"), errors)
            : DeviceRequirement.Cpu;
        var maxAttempts = fields.TryGet("maxAttempts", out var attemptsValue)
            ? Scalars.Int(attemptsValue, fields.PathOf("maxAttempts"), errors, 1, limits.MaxAttempts)
            : SweepSpecDefaults.MaxAttempts;
        var priority = fields.TryGet("priority", out var priorityValue)
            ? Scalars.Int(priorityValue, fields.PathOf("priority"), errors, -limits.MaxPriority, limits.MaxPriority)
            : 0;
        fields.RejectUnknown();

        if (schedule?.Switch is FixedStepSwitch fixedStep && outerSteps is { } budget && fixedStep.Step >= budget)
            errors.Add("$.schedule.switch.step", $"must be less than outerSteps ({budget}), or phase II never runs");
        if (search is not null && seeds is not null)
            CheckTrialCount(search, seeds.Length, errors);

        if (errors.Count != before || name is null || task is null || search is null || seeds is null || outerSteps is null
            || checkpointInterval is null || device is null || maxAttempts is null || priority is null)
        {
            return null;
        }
        return new SweepSpec
        {
            Name = name,
            Task = task,
            Estimator = estimator,
            Schedule = schedule,
            Search = search,
            Seeds = seeds,
            OuterSteps = outerSteps.Value,
            CheckpointInterval = checkpointInterval.Value,
            Device = device,
            MaxAttempts = maxAttempts.Value,
            Priority = priority.Value,
        };
    }

    private string? ReadName(JsonElement value, string path, SpecErrors errors)
    {
        var name = Scalars.String(value, path, errors, limits.MaxNameLength);
        if (name is not null && name.Any(char.IsControl))
        {
            errors.Add(path, "must not contain control characters (line breaks, tabs)");
            return null;
        }
        return name;
    }

    private TaskSpec? ReadTask(JsonElement value, string path, SpecErrors errors)
    {
        var fields = ObjectFields.Of(value, path, errors);
        if (fields is null)
            return null;
        string? kind = null;
        if (fields.TryGetRequired("kind", out var kindValue, " (the problem family, e.g. hypercleaning)"))
        {
            kind = Scalars.String(kindValue, fields.PathOf("kind"), errors, 64);
            if (kind is not null && !TaskKind().IsMatch(kind))
            {
                errors.Add(fields.PathOf("kind"), "must be lower-case letters, digits and '-', starting with a letter");
                kind = null;
            }
        }
        var config = fields.TryGet("config", out var configValue)
            ? FreeFormJson.ReadObject(configValue, fields.PathOf("config"), errors, limits)
            : ContractJson.EmptyObject;
        fields.RejectUnknown();
        return kind is null || config is null ? null : new TaskSpec(kind, config.Value);
    }

    private long[]? ReadSeeds(JsonElement value, string path, SpecErrors errors)
    {
        if (value.ValueKind != JsonValueKind.Array)
        {
            errors.Add(path, $"must be an array of non-negative integers; got {JsonValueText.Describe(value)}");
            return null;
        }
        var length = value.GetArrayLength();
        if (length == 0 || length > limits.MaxArrayLength)
        {
            errors.Add(path, $"must hold 1 to {limits.MaxArrayLength} seeds; got {length}");
            return null;
        }
        var seeds = new long[length];
        var seen = new HashSet<long>();
        var valid = true;
        var index = 0;
        foreach (var item in value.EnumerateArray())
        {
            var itemPath = JsonPathText.Index(path, index);
            var seed = Scalars.Long(item, itemPath, errors, 0, long.MaxValue);
            if (seed is null)
                valid = false;
            else if (!seen.Add(seed.Value))
            {
                errors.Add(itemPath, $"repeats seed {seed}; each seed may appear once");
                valid = false;
            }
            else
                seeds[index] = seed.Value;
            index++;
        }
        return valid ? seeds : null;
    }

    private DeviceRequirement? ReadDevice(JsonElement value, string path, SpecErrors errors)
    {
        var fields = ObjectFields.Of(value, path, errors);
        if (fields is null)
            return null;
        var kind = fields.TryGetRequired("kind", out var kindValue, " (cpu or cuda)")
            ? Scalars.OneOf(kindValue, fields.PathOf("kind"), errors, DeviceKinds)
            : null;
        var slots = fields.TryGet("slots", out var slotsValue)
            ? Scalars.Int(slotsValue, fields.PathOf("slots"), errors, 1, limits.MaxSlots)
            : 1;
        fields.RejectUnknown();
        return kind is null || slots is null
            ? null : new DeviceRequirement(kind == "cuda" ? DeviceKind.Cuda : DeviceKind.Cpu, slots.Value);
    }

    private void CheckTrialCount(SearchSpace search, int seedCount, SpecErrors errors)
    {
        // In double: a product of many grids overflows any integer long before it is compared.
        var grid = search.Parameters.Values.OfType<GridParameter>().Aggregate(1.0, (n, p) => n * p.Values.Count);
        var trials = grid * search.Samples * seedCount;
        if (trials > limits.MaxTrials)
        {
            errors.Add("$.search", $"the sweep expands to {trials:G6} trials (grid {grid:G6} × samples {search.Samples} × seeds {seedCount}); at most {limits.MaxTrials} are allowed");
        }
    }

    [GeneratedRegex("^[a-z][a-z0-9-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex TaskKind();
}
