namespace Bilevel.Contracts;

/// <summary>
/// A worker process as it last reported itself: its host, device slots and running trials, and how long ago its
/// last heartbeat was by the database's clock.
/// </summary>
public sealed record WorkerView(
    string Id,
    string Host,
    int ProcessId,
    DeviceKind DeviceKind,
    int Slots,
    int RunningTrials,
    DateTimeOffset StartedAt,
    DateTimeOffset LastHeartbeat,
    double SecondsSinceHeartbeat);
