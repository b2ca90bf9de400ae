namespace Bilevel.Grid;

/// <summary>
/// Why an attempt failed. A <see cref="Retryable"/> failure (an out-of-memory, a lost device) requeues the trial
/// until it has used its max attempts; a permanent one (divergence, a bad config) fails it at once.
/// </summary>
public sealed record TrialFailure(string Reason, int? OuterStep, bool Retryable)
{
    public const int MaxReasonLength = 4000;

    internal string Describe()
    {
        var reason = Reason.Length > MaxReasonLength ? Reason[..MaxReasonLength] + "…" : Reason;
        return OuterStep is { } step ? $"{reason} (at outer step {step})" : reason;
    }
}
