using System.Text.Json;
using System.Text.Json.Serialization;

namespace Bilevel.Tasks.Config;

/// <summary>A task configuration that names what is wrong with it: the field (JSON path) and the allowed values.</summary>
public sealed class TaskConfigException(string task, string field, string problem)
    : ArgumentException($"{task}: field '{field}' {problem}")
{
    public string Task { get; } = task;

    public string Field { get; } = field;
}

/// <summary>Reads a task's JSON configuration into its record: unknown fields and wrong types are errors, not ignored.</summary>
public static class TaskConfigReader
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.Strict,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower, allowIntegerValues: false) },
        MaxDepth = 16,
    };

    public static TConfig Read<TConfig>(string task, JsonElement config) where TConfig : ITaskConfig, new()
    {
        TConfig result;
        if (config.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null) result = new TConfig();
        else if (config.ValueKind != JsonValueKind.Object)
            throw new TaskConfigException(task, "$", $"must be an object, got {config.ValueKind.ToString().ToLowerInvariant()}.");
        else
        {
            try
            {
                result = config.Deserialize<TConfig>(Options) ?? new TConfig();
            }
            catch (JsonException e)
            {
                throw new TaskConfigException(task, e.Path ?? "$", Describe(e));
            }
        }
        result.Validate(task);
        return result;
    }

    private static string Describe(JsonException e)
    {
        // System.Text.Json names unknown members in its message; keep only its first sentence, which says what broke.
        string message = e.Message;
        int end = message.IndexOf(". Path", StringComparison.Ordinal);
        return (end > 0 ? message[..end] : message) + ".";
    }

    public static void Range(string task, string field, double value, double low, double high)
    {
        if (!(value >= low && value <= high))
            throw new TaskConfigException(task, field, $"is {value}; allowed range is [{low}, {high}].");
    }

    public static void Range(string task, string field, int value, int low, int high)
    {
        if (value < low || value > high)
            throw new TaskConfigException(task, field, $"is {value}; allowed range is [{low}, {high}].");
    }
}

/// <summary>A task configuration record: defaults in its initialisers, ranges checked in <see cref="Validate"/>.</summary>
public interface ITaskConfig
{
    void Validate(string task);
}
