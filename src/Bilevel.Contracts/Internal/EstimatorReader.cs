using System.Text.Json;

namespace Bilevel.Contracts.Internal;

/// <summary>Reads <c>estimator</c> and <c>schedule</c>: estimator names against the caller's registry, switch rules.</summary>
internal sealed class EstimatorReader(IReadOnlyCollection<string> knownEstimators, SpecLimits limits, SpecErrors errors)
{
    private static readonly string[] SwitchRules = ["fixed-step", "plateau", "cosine"];

    public EstimatorSpec? ReadEstimator(JsonElement value, string path)
    {
        var fields = ObjectFields.Of(value, path, errors);
        if (fields is null)
            return null;
        string? name = null;
        if (fields.TryGetRequired("name", out var nameValue, $"; one of: {string.Join(", ", knownEstimators)}"))
        {
            name = Scalars.OneOf(nameValue, fields.PathOf("name"), errors, knownEstimators);
        }
        var options = ContractJson.EmptyObject;
        var optionsValid = true;
        if (fields.TryGet("options", out var optionsValue))
        {
            var read = FreeFormJson.ReadObject(optionsValue, fields.PathOf("options"), errors, limits);
            optionsValid = read is not null;
            options = read ?? options;
        }
        fields.RejectUnknown();
        return name is null || !optionsValid ? null : new EstimatorSpec(name, options);
    }

    public TwoPhaseSchedule? ReadSchedule(JsonElement value, string path)
    {
        var fields = ObjectFields.Of(value, path, errors);
        if (fields is null)
            return null;
        var phase1 = fields.TryGetRequired("phase1", out var p1) ? ReadEstimator(p1, fields.PathOf("phase1")) : null;
        var phase2 = fields.TryGetRequired("phase2", out var p2) ? ReadEstimator(p2, fields.PathOf("phase2")) : null;
        var rule = fields.TryGetRequired("switch", out var s) ? ReadSwitch(s, fields.PathOf("switch")) : null;
        fields.RejectUnknown();
        return phase1 is null || phase2 is null || rule is null ? null : new TwoPhaseSchedule(phase1, phase2, rule);
    }

    private SwitchRule? ReadSwitch(JsonElement value, string path)
    {
        var fields = ObjectFields.Of(value, path, errors);
        if (fields is null)
            return null;
        if (!fields.TryGetRequired("rule", out var ruleValue, $"; one of: {string.Join(", ", SwitchRules)}"))
            return null;
        var rule = Scalars.OneOf(ruleValue, fields.PathOf("rule"), errors, SwitchRules);
        SwitchRule? result = rule switch
        {
            "fixed-step" => Read(fields, "step", v => Scalars.Int(v, fields.PathOf("step"), errors, 1, limits.MaxOuterSteps)) is { } step
                ? new FixedStepSwitch(step) : null,
            "plateau" => ReadPlateau(fields),
            "cosine" => ReadCosine(fields),
            _ => null,
        };
        // Fields of the other rules are unknown here; with an unreadable rule there is nothing to compare against.
        if (rule is not null)
            fields.RejectUnknown();
        return result;
    }

    private PlateauSwitch? ReadPlateau(ObjectFields fields)
    {
        var window = Read(fields, "window", v => Scalars.Int(v, fields.PathOf("window"), errors, 2, 1_000_000));
        var minImprovement = Read(fields, "minImprovement", v => Scalars.Number(v, fields.PathOf("minImprovement"), errors, 0, 1, minExclusive: true));
        return window is null || minImprovement is null ? null : new PlateauSwitch(window.Value, minImprovement.Value);
    }

    private CosineSwitch? ReadCosine(ObjectFields fields)
    {
        var threshold = Read(fields, "threshold", v => Scalars.Number(v, fields.PathOf("threshold"), errors, -1, 1));
        var every = Read(fields, "every", v => Scalars.Int(v, fields.PathOf("every"), errors, 1, limits.MaxOuterSteps));
        var directions = Read(fields, "directions", v => Scalars.Int(v, fields.PathOf("directions"), errors, 1, 1024));
        return threshold is null || every is null || directions is null
            ? null : new CosineSwitch(threshold.Value, every.Value, directions.Value);
    }

    private static T? Read<T>(ObjectFields fields, string name, Func<JsonElement, T?> read) where T : struct =>
        fields.TryGetRequired(name, out var value) ? read(value) : null;
}
