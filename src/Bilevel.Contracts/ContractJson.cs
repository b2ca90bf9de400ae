using System.Text.Json;
using System.Text.Json.Serialization;

namespace Bilevel.Contracts;

/// <summary>The JSON settings of the wire and of stored specs: camelCase, nulls left out.</summary>
public static class ContractJson
{
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    /// <summary>An empty JSON object, the default task config and estimator options.</summary>
    public static JsonElement EmptyObject { get; } = JsonDocument.Parse("{}").RootElement.Clone();

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            // PostgreSQL's jsonb reorders keys, so a stored spec's discriminators need not come first.
            AllowOutOfOrderMetadataProperties = true,
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
