using System.Text;
using System.Text.Json;
using Bilevel.Contracts.Internal;

namespace Bilevel.Contracts;

/// <summary>
/// Reads a sweep spec from JSON or YAML and checks it against the schema, the limits and the estimator registry.
/// Never throws for bad input: every problem comes back as a <see cref="FieldError"/> naming the field by its JSON
/// path (the same path for YAML), with what is allowed there. Unknown fields, duplicate fields and type coercions
/// ("5" for 5) are errors. Thread-safe.
/// </summary>
public sealed class SweepSpecReader
{
    private readonly SpecLimits _limits;
    private readonly SpecValidator _validator;

    /// <param name="knownEstimators">The estimator names the running build can execute (its registry).</param>
    /// <param name="limits">Size bounds; <see cref="SpecLimits.Default"/> when null.</param>
    public SweepSpecReader(IEnumerable<string> knownEstimators, SpecLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(knownEstimators);
        var names = knownEstimators.Distinct(StringComparer.Ordinal).ToArray();
        if (names.Length == 0)
            throw new ArgumentException("At least one estimator must be known.", nameof(knownEstimators));
        _limits = limits ?? SpecLimits.Default;
        _validator = new SpecValidator(names, _limits);
    }

    /// <summary>The format a spec file's extension implies: .yaml and .yml are YAML, anything else JSON.</summary>
    public static SpecFormat FormatOfFile(string fileName) =>
        Path.GetExtension(fileName).ToLowerInvariant() is ".yaml" or ".yml" ? SpecFormat.Yaml : SpecFormat.Json;

    public SpecValidationResult Read(string text, SpecFormat format) =>
        format == SpecFormat.Yaml ? ReadYaml(text) : ReadJson(text);

    public SpecValidationResult ReadJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        var errors = new SpecErrors(_limits.MaxErrors);
        return CheckSize(json, errors) ? Validate(Encoding.UTF8.GetBytes(json), errors) : Invalid(errors);
    }

    public SpecValidationResult ReadYaml(string yaml)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var errors = new SpecErrors(_limits.MaxErrors);
        if (!CheckSize(yaml, errors))
            return Invalid(errors);
        var json = YamlToJson.Convert(yaml, _limits.MaxDepth, errors);
        return json is null ? Invalid(errors) : Validate(json, errors);
    }

    /// <summary>Checks a spec built in code by the same rules, as its JSON form.</summary>
    public SpecValidationResult Validate(SweepSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return ReadJson(JsonSerializer.Serialize(spec, ContractJson.Options));
    }

    private bool CheckSize(string text, SpecErrors errors)
    {
        var bytes = Encoding.UTF8.GetByteCount(text);
        if (bytes <= _limits.MaxDocumentBytes)
            return true;
        errors.Add("$", $"the document is {bytes} bytes; at most {_limits.MaxDocumentBytes} are allowed");
        return false;
    }

    private SpecValidationResult Validate(byte[] json, SpecErrors errors)
    {
        if (!JsonSyntaxCheck.Check(json, _limits.MaxDepth, errors))
            return Invalid(errors);
        using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = _limits.MaxDepth + 1 });
        var spec = _validator.Validate(document.RootElement, errors);
        return spec is not null && errors.Count == 0 ? SpecValidationResult.Valid(spec) : Invalid(errors);
    }

    private static SpecValidationResult Invalid(SpecErrors errors) => SpecValidationResult.Invalid(errors.Items);
}
