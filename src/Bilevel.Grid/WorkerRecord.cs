using Bilevel.Contracts;

namespace Bilevel.Grid;

/// <summary>
/// A worker as last reported, with the trials it runs now and the age of its heartbeat by the database's clock
/// (so a worker with a wrong clock still looks alive or dead correctly).
/// </summary>
public sealed record WorkerRecord(
    string Id,
    string Host,
    int ProcessId,
    DeviceKind DeviceKind,
    int Slots,
    int RunningTrials,
    DateTimeOffset StartedAt,
    DateTimeOffset LastHeartbeat,
    TimeSpan SinceHeartbeat);
