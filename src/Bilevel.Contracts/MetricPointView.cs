namespace Bilevel.Contracts;

/// <summary>One recorded value of a trial's metric at an outer step.</summary>
public sealed record MetricPointView(string Name, int Step, double Value);
