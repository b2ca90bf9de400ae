using Bilevel.Contracts;

namespace Bilevel.Grid;

/// <summary>
/// The moves a sweep may make: active ⇄ paused, either → cancelled (by a user) or completed (when its last trial
/// ends); cancelled and completed are final. The stores decide pause, resume and cancel by this table.
/// </summary>
public static class SweepStateMachine
{
    private static readonly Dictionary<SweepState, SweepState[]> Moves = new()
    {
        [SweepState.Active] = [SweepState.Paused, SweepState.Cancelled, SweepState.Completed],
        [SweepState.Paused] = [SweepState.Active, SweepState.Cancelled, SweepState.Completed],
        [SweepState.Cancelled] = [],
        [SweepState.Completed] = [],
    };

    public static bool CanMove(SweepState from, SweepState to) => Moves[from].Contains(to);

    public static bool IsFinal(SweepState state) => Moves[state].Length == 0;

    /// <summary>The states from which <paramref name="to"/> can be reached.</summary>
    public static IReadOnlyList<SweepState> Sources(SweepState to) =>
        Moves.Where(m => m.Value.Contains(to)).Select(m => m.Key).ToArray();
}
