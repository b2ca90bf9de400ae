namespace Bilevel.Contracts;

/// <summary>
/// Bounds that keep one sweep spec from costing the host more than it should; a spec past any of them is rejected
/// with the field that broke it. The defaults suit an API open to many users.
/// </summary>
public sealed class SpecLimits
{
    public static SpecLimits Default { get; } = new();

    /// <summary>Largest document, in UTF-8 bytes. Default 1 MiB.</summary>
    public int MaxDocumentBytes { get; init; } = 1 << 20;

    /// <summary>Deepest nesting of objects and arrays, the root object counting as 1. Default 16.</summary>
    public int MaxDepth { get; init; } = 16;

    /// <summary>Longest array anywhere: seeds, grid and choice values, arrays inside configs. Default 1,000.</summary>
    public int MaxArrayLength { get; init; } = 1000;

    /// <summary>Most fields in one object of a task config or estimator options. Default 256.</summary>
    public int MaxObjectProperties { get; init; } = 256;

    /// <summary>Longest string value. Default 4,096 characters.</summary>
    public int MaxStringLength { get; init; } = 4096;

    /// <summary>Longest sweep name. Default 200 characters.</summary>
    public int MaxNameLength { get; init; } = 200;

    /// <summary>Most searched parameters. Default 32.</summary>
    public int MaxParameters { get; init; } = 32;

    /// <summary>Most random samples per grid point. Default 10,000.</summary>
    public int MaxSamples { get; init; } = 10_000;

    /// <summary>Most trials one sweep may expand to. Default 100,000.</summary>
    public int MaxTrials { get; init; } = 100_000;

    /// <summary>Largest outer-step budget. Default 10,000,000.</summary>
    public int MaxOuterSteps { get; init; } = 10_000_000;

    /// <summary>Most device slots one trial may ask for. Default 64.</summary>
    public int MaxSlots { get; init; } = 64;

    /// <summary>Largest max-attempts value. Default 100.</summary>
    public int MaxAttempts { get; init; } = 100;

    /// <summary>Priorities lie in [-MaxPriority, MaxPriority]. Default 1,000.</summary>
    public int MaxPriority { get; init; } = 1000;

    /// <summary>Most errors reported for one document; the rest are left out. Default 50.</summary>
    public int MaxErrors { get; init; } = 50;
}
