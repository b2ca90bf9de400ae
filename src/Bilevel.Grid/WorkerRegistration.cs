using Bilevel.Contracts;

namespace Bilevel.Grid;

/// <summary>A worker process announcing itself: its id (also its lease owner name), host, process and device slots.</summary>
public sealed record WorkerRegistration(string Id, string Host, int ProcessId, DeviceKind DeviceKind, int Slots)
{
    public const int MaxIdLength = 200;

    internal void ThrowIfInvalid()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(Id);
        ArgumentException.ThrowIfNullOrWhiteSpace(Host);
        if (Id.Length > MaxIdLength || Host.Length > MaxIdLength)
            throw new ArgumentException($"Worker ids and host names are at most {MaxIdLength} characters long.");
        ArgumentOutOfRangeException.ThrowIfLessThan(Slots, 1);
    }
}
