namespace Bilevel.Contracts;

/// <summary>What one trial occupies on a worker: a device kind and a number of that kind's slots.</summary>
public sealed record DeviceRequirement(DeviceKind Kind, int Slots)
{
    public static DeviceRequirement Cpu { get; } = new(DeviceKind.Cpu, 1);
}
