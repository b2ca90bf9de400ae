using System.Text.Json;

namespace Bilevel.Grid;

/// <summary>
/// A trial's end, written in one transaction: its final outer step, its result (a JSON object, e.g. final losses
/// and accuracy), its last metrics and, optionally, its final state as a checkpoint payload.
/// </summary>
public sealed record TrialCompletion(int OuterStep, JsonElement Result, IReadOnlyList<MetricSample> Metrics, byte[]? FinalCheckpoint = null);
