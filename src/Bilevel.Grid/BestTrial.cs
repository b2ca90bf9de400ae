using Bilevel.Contracts;

namespace Bilevel.Grid;

/// <summary>The best completed trial of a sweep by the last recorded value of a metric.</summary>
public sealed record BestTrial(TrialRecord Trial, string Metric, MetricGoal Goal, int Step, double Value);
