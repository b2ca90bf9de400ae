using System.Text.Json.Serialization;

namespace Bilevel.Contracts;

/// <summary>The columns a trial listing may be sorted by; ties are broken by trial id.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<TrialSortField>))]
public enum TrialSortField
{
    /// <summary>Age: ids grow with submission.</summary>
    [JsonStringEnumMemberName("id")] Id,
    [JsonStringEnumMemberName("number")] Number,
    [JsonStringEnumMemberName("priority")] Priority,
    [JsonStringEnumMemberName("outerStep")] OuterStep,
    [JsonStringEnumMemberName("attempt")] Attempt,
}
