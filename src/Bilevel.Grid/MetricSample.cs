using Bilevel.Contracts;

namespace Bilevel.Grid;

/// <summary>A metric value of a trial at an outer step. Values must be finite: divergence is a failure, not a metric.</summary>
public sealed record MetricSample(string Name, int Step, double Value)
{
    internal static void ThrowIfInvalid(IReadOnlyList<MetricSample> metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        foreach (var m in metrics)
        {
            ArgumentException.ThrowIfNullOrEmpty(m.Name);
            if (m.Name.Length > MetricLimits.MaxNameLength)
                throw new ArgumentException($"Metric names are at most {MetricLimits.MaxNameLength} characters long: {m.Name[..20]}…", nameof(metrics));
            if (!double.IsFinite(m.Value))
                throw new ArgumentException($"Metric {m.Name} at step {m.Step} is {m.Value}; only finite values are stored.", nameof(metrics));
            ArgumentOutOfRangeException.ThrowIfNegative(m.Step);
        }
    }
}
