namespace Bilevel.Grid.Running.Internal;

/// <summary>
/// Which search parameter set which spec field, so that an error about a field can name the parameter that put
/// the bad value there (the spec itself may be fine; the searched value is not).
/// </summary>
internal sealed class ParameterOrigins
{
    public static ParameterOrigins None { get; } = new();

    private readonly Dictionary<string, (string Name, string Value)> _byField = new(StringComparer.Ordinal);

    public void Add(string field, string parameter, string value) => _byField[field] = (parameter, value);

    /// <summary>The problem text with "(set by search parameter 'x' = v)" appended when a parameter set the field.</summary>
    public string Explain(string field, string problem) =>
        _byField.TryGetValue(field, out var origin)
            ? $"{problem} (set by search parameter '{origin.Name}' = {origin.Value})"
            : problem;

    public TrialConfigException Error(string field, string problem) => new(field, Explain(field, problem));
}
