namespace Bilevel.Grid;

/// <summary>
/// The answer to a heartbeat: whether the lease is still held (then extended to <see cref="LeaseExpiresAt"/>), and
/// whether the trial's sweep was paused, in which case the worker should checkpoint and release the trial.
/// </summary>
public sealed record HeartbeatResult(bool LeaseHeld, bool SweepPaused, DateTimeOffset? LeaseExpiresAt)
{
    public static HeartbeatResult Lost { get; } = new(false, false, null);
}
