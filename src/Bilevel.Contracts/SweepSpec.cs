namespace Bilevel.Contracts;

/// <summary>
/// What a user submits: a task, one estimator or a two-phase schedule (exactly one of <see cref="Estimator"/> and
/// <see cref="Schedule"/>), a search space, the trial seeds and the per-trial budget and resources. Read and
/// validated from JSON or YAML by <see cref="SweepSpecReader"/>; written back with <see cref="ContractJson.Options"/>.
/// </summary>
public sealed record SweepSpec
{
    public required string Name { get; init; }

    public required TaskSpec Task { get; init; }

    public EstimatorSpec? Estimator { get; init; }

    public TwoPhaseSchedule? Schedule { get; init; }

    public SearchSpace Search { get; init; } = SearchSpace.Empty;

    /// <summary>Every configuration runs once per seed; the seed keys all of a trial's randomness.</summary>
    public IReadOnlyList<long> Seeds { get; init; } = [0];

    /// <summary>The number of outer (hypergradient) steps of each trial.</summary>
    public required int OuterSteps { get; init; }

    /// <summary>A trial writes a checkpoint (with its metrics) every this many outer steps.</summary>
    public int CheckpointInterval { get; init; } = SweepSpecDefaults.CheckpointInterval;

    public DeviceRequirement Device { get; init; } = DeviceRequirement.Cpu;

    /// <summary>How many failed attempts (expired leases, retryable errors) a trial may have before it fails.</summary>
    public int MaxAttempts { get; init; } = SweepSpecDefaults.MaxAttempts;

    /// <summary>Trials of higher priority are claimed first; equal priorities go oldest first.</summary>
    public int Priority { get; init; }
}
