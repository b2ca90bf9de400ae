namespace Bilevel.Grid.Running;

/// <summary>Settings of a <see cref="TrialRunner"/>.</summary>
public sealed class TrialRunnerOptions
{
    /// <summary>
    /// The lease the trials were claimed with; the runner heartbeats every third of it. Default 30 seconds.
    /// </summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Compute threads of one trial (the engine's kernels and nothing else). Results are bit-identical for a given
    /// count, so a resumed trial must use the count its first attempt used. Default 1.
    /// </summary>
    public int ThreadsPerTrial { get; set; } = 1;

    /// <summary>How long the checkpoint and release of a graceful stop may take. Default 15 seconds.</summary>
    public TimeSpan StopWriteTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>First delay before retrying a store call that failed because the database was unreachable. Default 100 ms.</summary>
    public TimeSpan ReconnectFirstDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest delay between reconnect attempts (exponential backoff with jitter up to this). Default 5 seconds.</summary>
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    internal void Validate()
    {
        if (LeaseDuration < ClaimRequest.MinLease || LeaseDuration > ClaimRequest.MaxLease)
            throw new ArgumentOutOfRangeException(nameof(LeaseDuration), LeaseDuration, $"A lease lasts from {ClaimRequest.MinLease} to {ClaimRequest.MaxLease}.");
        ArgumentOutOfRangeException.ThrowIfLessThan(ThreadsPerTrial, 1, nameof(ThreadsPerTrial));
        if (StopWriteTimeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(StopWriteTimeout), StopWriteTimeout, "Must be positive.");
        if (ReconnectFirstDelay <= TimeSpan.Zero || ReconnectMaxDelay < ReconnectFirstDelay)
            throw new ArgumentOutOfRangeException(nameof(ReconnectMaxDelay), ReconnectMaxDelay, "Reconnect delays must be positive, the maximum at least the first.");
    }
}
