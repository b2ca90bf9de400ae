namespace Bilevel.Client;

/// <summary>One metric of a trial as a curve: <see cref="Steps"/> and <see cref="Values"/>, index by index.</summary>
public sealed record MetricCurve(string Name, IReadOnlyList<int> Steps, IReadOnlyList<double> Values);
