namespace Bilevel.Contracts;

/// <summary>Bounds of what a trial may record as metrics.</summary>
public static class MetricLimits
{
    public const int MaxNameLength = 100;
}
