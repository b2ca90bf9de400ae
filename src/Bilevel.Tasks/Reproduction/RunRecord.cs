namespace Bilevel.Tasks.Reproduction;

/// <summary>One outer step of a run.</summary>
/// <param name="OuterLoss">h(φ_k) as the estimator saw it (before the update).</param>
/// <param name="CpuSeconds">Process CPU time spent in the estimates so far (diagnostics excluded).</param>
/// <param name="WallSeconds">Wall time spent in the estimates so far (diagnostics excluded).</param>
/// <param name="Cosine">Cosine with the reference estimator at this step, when diagnostics ran.</param>
/// <param name="PeakBytes">Peak tensor memory of this step's estimate above what was live before it.</param>
/// <param name="Phase">1 or 2 for the two-phase schedule; 0 otherwise.</param>
public sealed record StepRecord(long Step, double OuterLoss, double CpuSeconds, double WallSeconds, double? Cosine, long PeakBytes, int Phase);

/// <summary>One estimator (or schedule) run on one task: its curve and its final task metrics.</summary>
public sealed class RunRecord(string task, string label, string estimator)
{
    public string Task { get; } = task;

    /// <summary>Short name for tables and legends.</summary>
    public string Label { get; } = label;

    /// <summary>The estimator's full name with its options.</summary>
    public string Estimator { get; } = estimator;

    public List<StepRecord> Steps { get; } = [];

    /// <summary>Task metrics of the final φ, in display order.</summary>
    public List<(string Name, string Value)> Metrics { get; } = [];

    /// <summary>Numeric values of the metrics, for claims.</summary>
    public Dictionary<string, double> Values { get; } = [];

    /// <summary>Why the run is not applicable or stopped early; null when it ran to the end.</summary>
    public string? Note { get; set; }

    /// <summary>False when the estimator does not apply to the task (no steps were run).</summary>
    public bool Ran => Steps.Count > 0;

    public double? MeanCosine
    {
        get
        {
            var c = Steps.Where(s => s.Cosine is not null).Select(s => s.Cosine!.Value).ToArray();
            return c.Length == 0 ? null : c.Average();
        }
    }

    public void Metric(string name, double value, string text)
    {
        Metrics.Add((name, text));
        Values[name] = value;
    }
}

/// <summary>A qualitative claim of the papers checked at our scale.</summary>
public sealed record ClaimRecord(string Claim, string Measured, bool? Holds);
