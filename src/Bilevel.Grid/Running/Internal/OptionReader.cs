using System.Globalization;
using System.Text.Json;

namespace Bilevel.Grid.Running.Internal;

/// <summary>
/// Reads one JSON object of options strictly: wrong types, values out of range and unknown members are errors that
/// name the member by its spec path (<c>estimator.options.directions</c>). Integers may be written as integral
/// numbers (4.0), since values drawn by a search space are numbers.
/// </summary>
internal sealed class OptionReader
{
    private readonly Dictionary<string, JsonElement> _members = new(StringComparer.Ordinal);
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);
    private readonly ParameterOrigins _origins;

    public OptionReader(JsonElement value, string path, ParameterOrigins origins)
    {
        Path = path;
        _origins = origins;
        if (value.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
            return;
        if (value.ValueKind != JsonValueKind.Object)
            throw origins.Error(path, $"must be a JSON object, got {Describe(value)}.");
        foreach (var member in value.EnumerateObject())
            _members[member.Name] = member.Value;
    }

    public string Path { get; }

    public string PathOf(string name) => $"{Path}.{name}";

    public bool Has(string name) => _members.ContainsKey(name);

    public int Int(string name, int defaultValue, int min, int max) => OptionalInt(name, min, max) ?? defaultValue;

    public int RequiredInt(string name, int min, int max, string meaning) =>
        OptionalInt(name, min, max) ?? throw _origins.Error(PathOf(name), $"is required ({meaning}): an integer in [{min}, {max}].");

    public int? OptionalInt(string name, int min, int max)
    {
        if (!TryGet(name, out var value))
            return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var number) || number != Math.Floor(number)
            || number < int.MinValue || number > int.MaxValue)
            throw Error(name, $"must be an integer in [{min}, {max}], got {Describe(value)}.");
        var integer = (int)number;
        if (integer < min || integer > max)
            throw Error(name, $"must be an integer in [{min}, {max}], got {integer}.");
        return integer;
    }

    /// <summary>A finite number in the range; <paramref name="lowExclusive"/> makes the low end open.</summary>
    public double Number(string name, double defaultValue, double low, double high, bool lowExclusive = false, bool highExclusive = false)
    {
        if (!TryGet(name, out var value))
            return defaultValue;
        var range = $"{(lowExclusive ? "(" : "[")}{Format(low)}, {Format(high)}{(highExclusive ? ")" : "]")}";
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var number) || !double.IsFinite(number))
            throw Error(name, $"must be a number in {range}, got {Describe(value)}.");
        if (number < low || number > high || (lowExclusive && number == low) || (highExclusive && number == high))
            throw Error(name, $"must be a number in {range}, got {Format(number)}.");
        return number;
    }

    public bool Bool(string name, bool defaultValue)
    {
        if (!TryGet(name, out var value))
            return defaultValue;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Error(name, $"must be true or false, got {Describe(value)}."),
        };
    }

    public string Choice(string name, string defaultValue, IReadOnlyList<string> allowed)
    {
        if (!TryGet(name, out var value))
            return defaultValue;
        if (value.ValueKind != JsonValueKind.String || !allowed.Contains(value.GetString()!, StringComparer.Ordinal))
            throw Error(name, $"must be one of {string.Join(", ", allowed.Select(a => $"\"{a}\""))}, got {Describe(value)}.");
        return value.GetString()!;
    }

    /// <summary>A nested object member, or null when absent or JSON null.</summary>
    public JsonElement? Object(string name)
    {
        if (!TryGet(name, out var value) || value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind != JsonValueKind.Object)
            throw Error(name, $"must be a JSON object, got {Describe(value)}.");
        return value;
    }

    /// <summary>Fails on the first member no reader asked for, listing the known ones.</summary>
    public void RejectUnknown(IReadOnlyList<string> known)
    {
        foreach (var name in _members.Keys.Order(StringComparer.Ordinal))
        {
            if (!_read.Contains(name))
            {
                var allowed = known.Count == 0 ? "none are known here" : $"known: {string.Join(", ", known)}";
                throw _origins.Error(PathOf(name), $"is not a known option ({allowed}).");
            }
        }
    }

    public TrialConfigException Error(string name, string problem) => _origins.Error(PathOf(name), problem);

    private bool TryGet(string name, out JsonElement value)
    {
        _read.Add(name);
        return _members.TryGetValue(name, out value);
    }

    internal static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => $"\"{Truncate(value.GetString()!)}\"",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.Null => "null",
        _ => Truncate(value.GetRawText()),
    };

    private static string Truncate(string text) => text.Length <= 60 ? text : text[..60] + "…";

    private static string Format(double value) => value switch
    {
        double.MaxValue => "∞",
        -double.MaxValue => "-∞",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };
}
