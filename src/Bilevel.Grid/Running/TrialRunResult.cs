using System.Text.Json;

namespace Bilevel.Grid.Running;

/// <summary>How a run of a claimed trial ended.</summary>
public enum TrialRunOutcome
{
    /// <summary>Every outer step ran; the result is stored and the trial completed.</summary>
    Completed,

    /// <summary>The trial failed for good (divergence, a bad configuration, an unreadable checkpoint).</summary>
    Failed,

    /// <summary>The attempt failed with a retryable error; the store requeued the trial (or failed it after its max attempts).</summary>
    Retried,

    /// <summary>Stopped on request (worker shutdown, sweep paused): checkpointed and given back to the queue.</summary>
    Released,

    /// <summary>The lease was lost (expired, taken over, trial cancelled): stopped without writing anything more.</summary>
    LeaseLost,
}

/// <param name="OuterStep">Outer steps completed when the run ended.</param>
/// <param name="Reason">Why it failed or stopped; null when completed.</param>
/// <param name="Result">The stored result object when completed.</param>
public sealed record TrialRunResult(TrialRunOutcome Outcome, int OuterStep, string? Reason = null, JsonElement? Result = null);

/// <summary>Progress of a running trial after each outer step, for live displays.</summary>
/// <param name="OuterStep">Outer steps completed.</param>
/// <param name="Phase">1 or 2 (1 for single-estimator trials).</param>
public sealed record TrialStepReport(long TrialId, int OuterStep, int OuterSteps, double OuterLoss, int Phase);
