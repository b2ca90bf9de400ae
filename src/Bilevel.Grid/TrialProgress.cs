namespace Bilevel.Grid;

/// <summary>
/// What a running trial writes every checkpoint interval, in one transaction: the outer step reached, the
/// checkpoint to resume from there, and the metrics recorded since the previous checkpoint.
/// </summary>
public sealed record TrialProgress(int OuterStep, byte[] Checkpoint, IReadOnlyList<MetricSample> Metrics);
