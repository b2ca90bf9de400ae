namespace Bilevel.Grid;

/// <summary>
/// What one reaper pass did: whether this caller was the elected reaper (only one runs at a time), which trials
/// with expired leases went back to the queue, and which failed for having used their max attempts.
/// </summary>
public sealed record ReapReport(bool Elected, IReadOnlyList<long> Requeued, IReadOnlyList<long> Failed)
{
    public static ReapReport NotElected { get; } = new(false, [], []);
}
