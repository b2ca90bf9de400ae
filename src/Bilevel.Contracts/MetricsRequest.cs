namespace Bilevel.Contracts;

/// <summary>A trial's metric values: some names (all when null or empty), an inclusive step range, a row cap.</summary>
public sealed record MetricsRequest
{
    public const int MaxNames = 32;
    public const int MaxLimit = 100_000;

    public required long TrialId { get; init; }

    public IReadOnlyList<string>? Names { get; init; }

    public int? FromStep { get; init; }

    public int? ToStep { get; init; }

    public int Limit { get; init; } = 10_000;

    public IReadOnlyList<FieldError> Validate()
    {
        var errors = new List<FieldError>();
        if (Names is { Count: > MaxNames })
            errors.Add(new("$.names", $"lists {Names.Count} names; at most {MaxNames} are allowed"));
        if (Names?.Any(n => n.Length is 0 or > MetricLimits.MaxNameLength) == true)
            errors.Add(new("$.names", $"names are 1 to {MetricLimits.MaxNameLength} characters long"));
        if (FromStep is < 0)
            errors.Add(new("$.fromStep", "must not be negative"));
        if (FromStep > ToStep)
            errors.Add(new("$.toStep", $"must not be less than fromStep ({FromStep})"));
        if (Limit is < 1 or > MaxLimit)
            errors.Add(new("$.limit", $"must be from 1 to {MaxLimit}; got {Limit}"));
        return errors;
    }
}
