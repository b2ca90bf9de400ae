using System.Globalization;
using System.Text.Json;
using Bilevel.Contracts;
using Microsoft.Extensions.Primitives;

namespace Bilevel.Silo.Api;

/// <summary>
/// Reads route values and query parameters strictly, collecting a <see cref="FieldError"/> for each bad one instead
/// of throwing: numbers must parse, enums must be one of their wire names, single-valued parameters must appear
/// once, and parameters the endpoint does not know are errors (so a typo is not silently ignored). Query
/// parameters are named as fields of the request object (<c>$.pageSize</c>), route values by their name.
/// </summary>
internal sealed class QueryReader
{
    private const int MaxValueLength = 4096;
    private readonly HttpRequest _request;
    private readonly List<FieldError> _errors = [];

    public QueryReader(HttpRequest request, params string[] allowed)
    {
        _request = request;
        foreach (var key in request.Query.Keys)
        {
            if (!allowed.Contains(key, StringComparer.Ordinal))
            {
                _errors.Add(new(Path(key), allowed.Length == 0
                    ? "is not a parameter of this endpoint, which takes none"
                    : $"is not a parameter of this endpoint; known: {string.Join(", ", allowed)}"));
            }
        }
    }

    public bool IsValid => _errors.Count == 0;

    public IResult Problem() => Problems.Validation(_errors);

    public void Add(IEnumerable<FieldError> errors) => _errors.AddRange(errors);

    /// <summary>A positive id from the route.</summary>
    public long RouteId(string name)
    {
        var raw = _request.RouteValues[name] as string;
        if (long.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id > 0)
            return id;
        _errors.Add(new(name, $"must be a positive integer id; got '{Clip(raw)}'"));
        return 0;
    }

    public string? String(string name, int maxLength = MaxValueLength)
    {
        if (Single(name) is not { } value)
            return null;
        if (value.Length == 0 || value.Length > maxLength)
        {
            _errors.Add(new(Path(name), $"must be 1 to {maxLength} characters long"));
            return null;
        }
        return value;
    }

    public int? Int(string name, int min = int.MinValue, int max = int.MaxValue)
    {
        if (Single(name) is not { } value)
            return null;
        if (int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) && number >= min && number <= max)
            return number;
        _errors.Add(new(Path(name), $"must be an integer from {min} to {max}; got '{Clip(value)}'"));
        return null;
    }

    public long? Long(string name, long min = 1)
    {
        if (Single(name) is not { } value)
            return null;
        if (long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) && number >= min)
            return number;
        _errors.Add(new(Path(name), $"must be an integer of at least {min}; got '{Clip(value)}'"));
        return null;
    }

    public bool? Bool(string name)
    {
        if (Single(name) is not { } value)
            return null;
        if (bool.TryParse(value, out var flag))
            return flag;
        _errors.Add(new(Path(name), $"must be true or false; got '{Clip(value)}'"));
        return null;
    }

    public T? Enum<T>(string name) where T : struct, Enum
    {
        if (Single(name) is not { } value)
            return null;
        return ParseEnum<T>(name, value);
    }

    /// <summary>Comma-separated values, the parameter possibly repeated.</summary>
    public IReadOnlyList<string> List(string name, int maxItems, int maxLength)
    {
        var items = Values(name).SelectMany(v => (v ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            .Distinct(StringComparer.Ordinal).ToArray();
        if (items.Length > maxItems)
        {
            _errors.Add(new(Path(name), $"lists {items.Length} values; at most {maxItems} are allowed"));
            return [];
        }
        if (items.FirstOrDefault(i => i.Length > maxLength) is { } tooLong)
        {
            _errors.Add(new(Path(name), $"values are at most {maxLength} characters long; '{Clip(tooLong)}' is longer"));
            return [];
        }
        return items;
    }

    public IReadOnlyList<T> EnumList<T>(string name) where T : struct, Enum
    {
        var result = new List<T>();
        foreach (var item in List(name, 16, 64))
        {
            if (ParseEnum<T>(name, item) is { } value && !result.Contains(value))
                result.Add(value);
        }
        return result;
    }

    /// <summary>The wire name of an enum value (its <c>JsonStringEnumMemberName</c>).</summary>
    public static string WireName<T>(T value) where T : struct, Enum =>
        JsonSerializer.Serialize(value, ContractJson.Options).Trim('"');

    private T? ParseEnum<T>(string name, string value) where T : struct, Enum
    {
        foreach (var candidate in System.Enum.GetValues<T>())
        {
            if (string.Equals(WireName(candidate), value, StringComparison.Ordinal))
                return candidate;
        }
        _errors.Add(new(Path(name), $"must be one of: {string.Join(", ", System.Enum.GetValues<T>().Select(WireName))}; got '{Clip(value)}'"));
        return null;
    }

    private StringValues Values(string name) => _request.Query.TryGetValue(name, out var values) ? values : StringValues.Empty;

    private string? Single(string name)
    {
        var values = Values(name);
        if (values.Count == 0)
            return null;
        if (values.Count > 1)
        {
            _errors.Add(new(Path(name), "must be given once"));
            return null;
        }
        return values[0];
    }

    private static string Path(string name) => "$." + Clip(name);

    private static string Clip(string? text) => text is null ? "" : text.Length <= 40 ? text : text[..40] + "…";
}
