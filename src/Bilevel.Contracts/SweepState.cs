using System.Text.Json.Serialization;

namespace Bilevel.Contracts;

/// <summary>
/// The life of a sweep: <c>active</c> (its queued trials may be claimed), <c>paused</c> (they may not; running
/// trials are asked to yield), <c>cancelled</c> and <c>completed</c> (every trial ended) are final.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<SweepState>))]
public enum SweepState
{
    [JsonStringEnumMemberName("active")] Active,
    [JsonStringEnumMemberName("paused")] Paused,
    [JsonStringEnumMemberName("cancelled")] Cancelled,
    [JsonStringEnumMemberName("completed")] Completed,
}
