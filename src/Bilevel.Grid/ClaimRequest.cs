using Bilevel.Contracts;

namespace Bilevel.Grid;

/// <summary>
/// A worker asking for one trial: its id (the lease owner), the device kind of the free slots, how many are free,
/// and how long the lease lasts without a heartbeat (measured by the database's clock).
/// </summary>
public sealed record ClaimRequest(string WorkerId, DeviceKind DeviceKind, int FreeSlots, TimeSpan LeaseDuration)
{
    public static TimeSpan MinLease { get; } = TimeSpan.FromMilliseconds(100);

    public static TimeSpan MaxLease { get; } = TimeSpan.FromHours(24);

    internal void ThrowIfInvalid()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(WorkerId);
        if (WorkerId.Length > WorkerRegistration.MaxIdLength)
            throw new ArgumentException($"Worker ids are at most {WorkerRegistration.MaxIdLength} characters long.", nameof(WorkerId));
        ArgumentOutOfRangeException.ThrowIfLessThan(FreeSlots, 1);
        if (LeaseDuration < MinLease || LeaseDuration > MaxLease)
            throw new ArgumentOutOfRangeException(nameof(LeaseDuration), LeaseDuration, $"A lease lasts from {MinLease} to {MaxLease}.");
    }
}
