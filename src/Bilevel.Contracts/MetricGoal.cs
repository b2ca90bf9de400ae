using System.Text.Json.Serialization;

namespace Bilevel.Contracts;

/// <summary>Whether the best value of a metric is its smallest (a loss) or its largest (an accuracy).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<MetricGoal>))]
public enum MetricGoal
{
    [JsonStringEnumMemberName("min")] Minimize,
    [JsonStringEnumMemberName("max")] Maximize,
}
