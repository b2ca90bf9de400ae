using System.Text.Json.Serialization;

namespace Bilevel.Contracts;

/// <summary>
/// The two-phase paradigm: <see cref="Phase1"/> (a cheap estimator such as trgu or hf) runs until
/// <see cref="Switch"/> fires, then <see cref="Phase2"/> (usually fg2u) refines.
/// </summary>
public sealed record TwoPhaseSchedule(
    [property: JsonPropertyName("phase1")] EstimatorSpec Phase1,
    [property: JsonPropertyName("phase2")] EstimatorSpec Phase2,
    SwitchRule Switch);
