using System.Text.Json;
using System.Text.RegularExpressions;

namespace Bilevel.Contracts.Internal;

/// <summary>Reads <c>search</c>: its seed, samples and parameters (grid, choice, uniform, log-uniform).</summary>
internal sealed partial class SearchSpaceReader(SpecLimits limits, SpecErrors errors)
{
    private static readonly string[] Kinds = ["grid", "choice", "uniform", "log-uniform"];

    public SearchSpace? Read(JsonElement value, string path)
    {
        var fields = ObjectFields.Of(value, path, errors);
        if (fields is null)
            return null;
        var before = errors.Count;
        var seed = fields.TryGet("seed", out var seedValue) ? Scalars.Long(seedValue, fields.PathOf("seed"), errors, 0, long.MaxValue) : 0;
        var samples = fields.TryGet("samples", out var samplesValue)
            ? Scalars.Int(samplesValue, fields.PathOf("samples"), errors, 1, limits.MaxSamples)
            : SweepSpecDefaults.Samples;
        var parameters = fields.TryGet("parameters", out var parametersValue)
            ? ReadParameters(parametersValue, fields.PathOf("parameters"))
            : new Dictionary<string, SearchParameter>();
        fields.RejectUnknown();
        if (samples > 1 && parameters is not null && !parameters.Values.Any(p => p is not GridParameter))
            errors.Add(fields.PathOf("samples"), "must be 1 when no parameter is drawn at random (choice, uniform, log-uniform): more samples would repeat the same trials");
        return errors.Count != before || seed is null || samples is null || parameters is null
            ? null : new SearchSpace(seed.Value, samples.Value, parameters);
    }

    private Dictionary<string, SearchParameter>? ReadParameters(JsonElement value, string path)
    {
        var fields = ObjectFields.Of(value, path, errors);
        if (fields is null)
            return null;
        if (fields.Count > limits.MaxParameters)
        {
            errors.Add(path, $"has {fields.Count} parameters; at most {limits.MaxParameters} are allowed");
            return null;
        }
        var result = new Dictionary<string, SearchParameter>(StringComparer.Ordinal);
        var valid = true;
        foreach (var (name, parameterValue) in fields.All)
        {
            var parameterPath = fields.PathOf(name);
            if (!ParameterName().IsMatch(name))
            {
                errors.Add(parameterPath, "parameter names start with a letter or '_' and hold up to 100 letters, digits, '_', '-' or '.'");
                valid = false;
                continue;
            }
            var parameter = ReadParameter(parameterValue, parameterPath);
            if (parameter is null)
                valid = false;
            else
                result[name] = parameter;
        }
        return valid ? result : null;
    }

    private SearchParameter? ReadParameter(JsonElement value, string path)
    {
        var fields = ObjectFields.Of(value, path, errors);
        if (fields is null || !fields.TryGetRequired("kind", out var kindValue, $"; one of: {string.Join(", ", Kinds)}"))
            return null;
        var kind = Scalars.OneOf(kindValue, fields.PathOf("kind"), errors, Kinds);
        SearchParameter? result = kind switch
        {
            "grid" => ReadValues(fields) is { } values ? new GridParameter(values) : null,
            "choice" => ReadValues(fields) is { } values ? new ChoiceParameter(values) : null,
            "uniform" => ReadRange(fields, logScale: false) is var (low, high) ? new UniformParameter(low, high) : null,
            "log-uniform" => ReadRange(fields, logScale: true) is var (low, high) ? new LogUniformParameter(low, high) : null,
            _ => null,
        };
        if (kind is not null)
            fields.RejectUnknown();
        return result;
    }

    private JsonElement[]? ReadValues(ObjectFields fields)
    {
        if (!fields.TryGetRequired("values", out var value))
            return null;
        var path = fields.PathOf("values");
        if (value.ValueKind != JsonValueKind.Array)
        {
            errors.Add(path, $"must be an array of numbers, strings or booleans; got {JsonValueText.Describe(value)}");
            return null;
        }
        var length = value.GetArrayLength();
        if (length == 0 || length > limits.MaxArrayLength)
        {
            errors.Add(path, $"must hold 1 to {limits.MaxArrayLength} values; got {length}");
            return null;
        }
        var valid = true;
        var index = 0;
        foreach (var item in value.EnumerateArray())
        {
            var itemPath = JsonPathText.Index(path, index++);
            var ok = item.ValueKind switch
            {
                JsonValueKind.Number => item.TryGetDouble(out var d) && double.IsFinite(d),
                JsonValueKind.String => item.GetString()!.Length <= limits.MaxStringLength,
                JsonValueKind.True or JsonValueKind.False => true,
                _ => false,
            };
            if (!ok)
            {
                errors.Add(itemPath, $"must be a finite number, a string of at most {limits.MaxStringLength} characters, or a boolean; got {JsonValueText.Describe(item)}");
                valid = false;
            }
        }
        return valid ? value.Clone().EnumerateArray().ToArray() : null;
    }

    private (double Low, double High)? ReadRange(ObjectFields fields, bool logScale)
    {
        // Log-uniform needs a positive lower bound: log 0 is not a number.
        var low = fields.TryGetRequired("low", out var lowValue)
            ? Scalars.Number(lowValue, fields.PathOf("low"), errors, logScale ? 0 : double.MinValue, double.MaxValue, minExclusive: logScale)
            : null;
        var high = fields.TryGetRequired("high", out var highValue)
            ? Scalars.Number(highValue, fields.PathOf("high"), errors, double.MinValue, double.MaxValue)
            : null;
        if (low is null || high is null)
            return null;
        if (!(high > low) || !double.IsFinite(high.Value - low.Value))
        {
            errors.Add(fields.PathOf("high"), $"must be greater than low ({low}) and the range finite");
            return null;
        }
        return (low.Value, high.Value);
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_.\\-]{0,99}$", RegexOptions.CultureInvariant)]
    private static partial Regex ParameterName();
}
