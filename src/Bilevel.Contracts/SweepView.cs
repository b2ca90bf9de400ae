namespace Bilevel.Contracts;

/// <summary>A sweep as the API shows it: its spec, state and trial counts. Times are the database's clock.</summary>
public sealed record SweepView(
    long Id,
    string Name,
    SweepState State,
    int Priority,
    DeviceRequirement Device,
    TrialCounts Trials,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? FinishedAt,
    SweepSpec Spec);
