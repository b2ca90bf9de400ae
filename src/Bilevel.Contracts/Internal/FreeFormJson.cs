using System.Text.Json;

namespace Bilevel.Contracts.Internal;

/// <summary>
/// Bounds a JSON object whose meaning belongs to someone else (a task config, estimator options): an object at the
/// top, finite numbers, and strings, arrays and objects within the limits. Depth is bounded by the parser already.
/// </summary>
internal static class FreeFormJson
{
    public static JsonElement? ReadObject(JsonElement value, string path, SpecErrors errors, SpecLimits limits)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            errors.Add(path, $"must be an object; got {JsonValueText.Describe(value)}");
            return null;
        }
        var before = errors.Count;
        Check(value, path, errors, limits);
        return errors.Count == before ? value.Clone() : null;
    }

    private static void Check(JsonElement value, string path, SpecErrors errors, SpecLimits limits)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                var names = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in value.EnumerateObject())
                {
                    var child = JsonPathText.Property(path, property.Name);
                    if (!names.Add(property.Name))
                        errors.Add(child, "appears more than once; give each field once");
                    else if (names.Count > limits.MaxObjectProperties)
                    {
                        errors.Add(path, $"has more than {limits.MaxObjectProperties} fields");
                        return;
                    }
                    if (property.Name.Length > limits.MaxNameLength)
                        errors.Add(child, $"field names may be at most {limits.MaxNameLength} characters long");
                    Check(property.Value, child, errors, limits);
                }
                break;
            case JsonValueKind.Array:
                var length = value.GetArrayLength();
                if (length > limits.MaxArrayLength)
                {
                    errors.Add(path, $"has {length} items; at most {limits.MaxArrayLength} are allowed");
                    return;
                }
                var index = 0;
                foreach (var item in value.EnumerateArray())
                    Check(item, JsonPathText.Index(path, index++), errors, limits);
                break;
            case JsonValueKind.String:
                if (value.GetString()!.Length > limits.MaxStringLength)
                    errors.Add(path, $"is longer than {limits.MaxStringLength} characters");
                break;
            case JsonValueKind.Number:
                if (!value.TryGetDouble(out var number) || !double.IsFinite(number))
                    errors.Add(path, $"must be a finite number; got {JsonValueText.Describe(value)}");
                break;
        }
    }
}
