using Bilevel.Contracts;

namespace Bilevel.Grid.Internal;

/// <summary>The text each state and device kind is stored as (the CHECK constraints of the schema list the same).</summary>
internal static class StateNames
{
    public static string Of(SweepState state) => state switch
    {
        SweepState.Active => "active",
        SweepState.Paused => "paused",
        SweepState.Cancelled => "cancelled",
        SweepState.Completed => "completed",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, null),
    };

    public static string Of(TrialState state) => state switch
    {
        TrialState.Queued => "queued",
        TrialState.Running => "running",
        TrialState.Completed => "completed",
        TrialState.Failed => "failed",
        TrialState.Cancelled => "cancelled",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, null),
    };

    public static string Of(DeviceKind kind) => kind switch
    {
        DeviceKind.Cpu => "cpu",
        DeviceKind.Cuda => "cuda",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    public static SweepState SweepStateOf(string text) =>
        Enum.GetValues<SweepState>().First(s => Of(s) == text);

    public static TrialState TrialStateOf(string text) =>
        Enum.GetValues<TrialState>().First(s => Of(s) == text);

    public static DeviceKind DeviceKindOf(string text) => text == "cuda" ? DeviceKind.Cuda : DeviceKind.Cpu;

    /// <summary>A SQL list of state literals, e.g. <c>('queued', 'running')</c>; the values are this file's constants.</summary>
    public static string SqlList(IEnumerable<TrialState> states) => $"({string.Join(", ", states.Select(s => $"'{Of(s)}'"))})";

    public static string SqlList(IEnumerable<SweepState> states) => $"({string.Join(", ", states.Select(s => $"'{Of(s)}'"))})";
}
