using System.Text.Json;

namespace Bilevel.Contracts.Internal;

/// <summary>
/// The fields of one JSON object of a spec: reading a field marks it known, and <see cref="RejectUnknown"/> then
/// reports every other field with the list of allowed ones. Duplicate names are errors, not last-one-wins.
/// </summary>
internal sealed class ObjectFields
{
    private readonly Dictionary<string, JsonElement> _fields = new(StringComparer.Ordinal);
    private readonly List<string> _allowed = [];
    private readonly SpecErrors _errors;

    private ObjectFields(string path, SpecErrors errors)
    {
        Path = path;
        _errors = errors;
    }

    public string Path { get; }

    public IEnumerable<KeyValuePair<string, JsonElement>> All => _fields;

    public int Count => _fields.Count;

    /// <summary>The object at <paramref name="path"/>, or null (and an error) when the value is not an object.</summary>
    public static ObjectFields? Of(JsonElement value, string path, SpecErrors errors)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            errors.Add(path, $"must be an object; got {JsonValueText.Describe(value)}");
            return null;
        }
        var fields = new ObjectFields(path, errors);
        foreach (var property in value.EnumerateObject())
        {
            if (!fields._fields.TryAdd(property.Name, property.Value))
                errors.Add(JsonPathText.Property(path, property.Name), "appears more than once; give each field once");
        }
        return fields;
    }

    public string PathOf(string name) => JsonPathText.Property(Path, name);

    /// <summary>The field's value when present; the name counts as allowed either way.</summary>
    public bool TryGet(string name, out JsonElement value)
    {
        _allowed.Add(name);
        return _fields.TryGetValue(name, out value);
    }

    /// <summary>Like <see cref="TryGet"/>, with an error when the field is missing.</summary>
    public bool TryGetRequired(string name, out JsonElement value, string hint = "")
    {
        if (TryGet(name, out value))
            return true;
        _errors.Add(PathOf(name), $"is required{hint}");
        return false;
    }

    public bool Has(string name) => _fields.ContainsKey(name);

    public void RejectUnknown()
    {
        foreach (var name in _fields.Keys)
        {
            if (!_allowed.Contains(name))
                _errors.Add(PathOf(name), $"is not a known field; allowed fields here: {string.Join(", ", _allowed.Distinct())}");
        }
    }
}
