namespace Bilevel.Tasks.Reproduction;

/// <summary>What one task's experiment produced: its runs, plots and the claims checked on it.</summary>
public sealed class TaskSection(string task, string setup)
{
    public string Task { get; } = task;

    /// <summary>One line: sizes, unroll depth, outer optimizer, reference estimator.</summary>
    public string Setup { get; } = setup;

    /// <summary>The configuration as JSON, to rerun it through the task catalog.</summary>
    public string? ConfigJson { get; init; }

    /// <summary>N, the number of outer variables.</summary>
    public int OuterSize { get; init; }

    public List<RunRecord> Runs { get; } = [];

    /// <summary>PNG file names, relative to the output folder.</summary>
    public List<string> Plots { get; } = [];

    public List<ClaimRecord> Claims { get; } = [];

    /// <summary>Task metric columns shown in the table, in order.</summary>
    public List<string> MetricNames { get; } = [];

    public RunRecord? Run(string label) => Runs.FirstOrDefault(r => r.Label == label);
}

/// <summary>Peak tensor memory of one estimate at one unroll depth.</summary>
public sealed record MemoryPoint(string Estimator, int UnrollSteps, long PeakBytes, double CpuSeconds);
