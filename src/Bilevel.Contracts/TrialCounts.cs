namespace Bilevel.Contracts;

/// <summary>How many of a sweep's trials are in each state.</summary>
public sealed record TrialCounts(int Queued, int Running, int Completed, int Failed, int Cancelled)
{
    public static TrialCounts None { get; } = new(0, 0, 0, 0, 0);

    public int Total => Queued + Running + Completed + Failed + Cancelled;
}
