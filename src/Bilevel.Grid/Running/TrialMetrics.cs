namespace Bilevel.Grid.Running;

/// <summary>
/// The metrics a trial records, one value per outer step k (0-based: the estimate made at φ_k), written with the
/// checkpoint that follows them. <see cref="OuterLoss"/> also has a value at step K (the number of outer steps): the
/// loss of the final φ.
/// </summary>
public static class TrialMetrics
{
    /// <summary>h(φ_k) = f(θ_T(φ_k), φ_k) as the estimator evaluated it.</summary>
    public const string OuterLoss = "outer_loss";

    /// <summary>‖∇̂h(φ_k)‖₂ of the estimate applied.</summary>
    public const string GradientNorm = "grad_norm";

    /// <summary>Wall time of the estimate, in seconds.</summary>
    public const string EstimateSeconds = "estimate_seconds";

    /// <summary>Tensor memory high-water mark above the start of the estimate, in bytes.</summary>
    public const string PeakBytes = "peak_bytes";

    /// <summary>Hessian-vector (or forward-over-reverse) products of the estimate.</summary>
    public const string HvpCount = "hvp_count";

    /// <summary>Inner trajectories run by the estimate.</summary>
    public const string InnerPasses = "inner_passes";

    /// <summary>1 or 2: the phase whose estimator made the estimate (two-phase trials only).</summary>
    public const string Phase = "phase";

    /// <summary>Cosine between the estimate and the diagnostics' reference (when configured).</summary>
    public const string DiagnosticCosine = "diag_cosine";

    /// <summary>‖estimate − reference‖ / ‖reference‖ (when configured).</summary>
    public const string DiagnosticRelativeError = "diag_relative_error";
}
