using System.Globalization;
using System.Text.Json;

namespace Bilevel.Contracts.Internal;

/// <summary>Reads typed scalars out of spec values; each returns null after reporting why the value is wrong.</summary>
internal static class Scalars
{
    public static string? String(JsonElement value, string path, SpecErrors errors, int maxLength)
    {
        if (value.ValueKind != JsonValueKind.String)
        {
            errors.Add(path, $"must be a string; got {JsonValueText.Describe(value)}");
            return null;
        }
        var text = value.GetString()!;
        if (text.Length == 0 || text.Length > maxLength)
        {
            errors.Add(path, $"must be 1 to {maxLength} characters long; got {text.Length}");
            return null;
        }
        return text;
    }

    /// <summary>A string from a fixed set, matched exactly (names are lower-case).</summary>
    public static string? OneOf(JsonElement value, string path, SpecErrors errors, IReadOnlyCollection<string> allowed)
    {
        var text = value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        if (text is not null && allowed.Contains(text, StringComparer.Ordinal))
            return text;
        errors.Add(path, $"must be one of: {string.Join(", ", allowed)}; got {JsonValueText.Describe(value)}");
        return null;
    }

    public static int? Int(JsonElement value, string path, SpecErrors errors, int min, int max)
    {
        var wide = Long(value, path, errors, min, max);
        return wide is null ? null : (int)wide.Value;
    }

    public static long? Long(JsonElement value, string path, SpecErrors errors, long min, long max)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) && number >= min && number <= max)
            return number;
        errors.Add(path, $"must be an integer from {Format(min)} to {Format(max)}; got {JsonValueText.Describe(value)}");
        return null;
    }

    /// <summary>A finite number in [min, max], or in (min, max] when <paramref name="minExclusive"/>.</summary>
    public static double? Number(JsonElement value, string path, SpecErrors errors, double min, double max, bool minExclusive = false)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var number) && double.IsFinite(number)
            && (minExclusive ? number > min : number >= min) && number <= max)
        {
            return number;
        }
        var range = minExclusive ? $"greater than {Format(min)} and at most {Format(max)}" : $"from {Format(min)} to {Format(max)}";
        errors.Add(path, $"must be a finite number {range}; got {JsonValueText.Describe(value)}");
        return null;
    }

    private static string Format(double value) => value switch
    {
        double.MaxValue => "1.8e308",
        double.MinValue => "-1.8e308",
        _ => value.ToString("G6", CultureInfo.InvariantCulture),
    };

    private static string Format(long value) => value.ToString(CultureInfo.InvariantCulture);
}
