using System.Text.Json.Serialization;

namespace Bilevel.Contracts;

/// <summary>
/// The life of a trial: <c>queued</c> → <c>running</c> (under a lease) → <c>completed</c> / <c>failed</c> /
/// <c>cancelled</c>; a running trial whose lease expired or was released goes back to <c>queued</c>.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<TrialState>))]
public enum TrialState
{
    [JsonStringEnumMemberName("queued")] Queued,
    [JsonStringEnumMemberName("running")] Running,
    [JsonStringEnumMemberName("completed")] Completed,
    [JsonStringEnumMemberName("failed")] Failed,
    [JsonStringEnumMemberName("cancelled")] Cancelled,
}
