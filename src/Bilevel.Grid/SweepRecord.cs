using Bilevel.Contracts;

namespace Bilevel.Grid;

/// <summary>A stored sweep with its trial counts. Times are the database's clock.</summary>
public sealed record SweepRecord(
    long Id,
    string Name,
    SweepSpec Spec,
    SweepState State,
    int Priority,
    DeviceRequirement Device,
    TrialCounts Trials,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? FinishedAt);
