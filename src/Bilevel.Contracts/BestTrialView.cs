namespace Bilevel.Contracts;

/// <summary>The best completed trial of a sweep by a metric's last recorded value.</summary>
public sealed record BestTrialView(TrialView Trial, string Metric, MetricGoal Goal, int Step, double Value);
