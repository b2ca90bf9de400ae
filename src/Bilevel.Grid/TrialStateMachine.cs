using Bilevel.Contracts;

namespace Bilevel.Grid;

/// <summary>
/// The moves a trial may make: queued → running (a claim) or cancelled; running → completed, failed, cancelled, or
/// back to queued (an expired or released lease, a retryable failure); completed, failed and cancelled are final.
/// Phases only go forward, I → II (the stores' phase switch only ever sets II). The stores' SQL guards are built
/// from these tables.
/// </summary>
public static class TrialStateMachine
{
    private static readonly Dictionary<TrialState, TrialState[]> Moves = new()
    {
        [TrialState.Queued] = [TrialState.Running, TrialState.Cancelled],
        [TrialState.Running] = [TrialState.Completed, TrialState.Failed, TrialState.Cancelled, TrialState.Queued],
        [TrialState.Completed] = [],
        [TrialState.Failed] = [],
        [TrialState.Cancelled] = [],
    };

    public static bool CanMove(TrialState from, TrialState to) => Moves[from].Contains(to);

    public static bool IsFinal(TrialState state) => Moves[state].Length == 0;

    /// <summary>The states from which <paramref name="to"/> can be reached.</summary>
    public static IReadOnlyList<TrialState> Sources(TrialState to) =>
        Moves.Where(m => m.Value.Contains(to)).Select(m => m.Key).ToArray();

    /// <summary>The states that still hold work: a sweep is complete when none of its trials is in one.</summary>
    public static IReadOnlyList<TrialState> Unfinished { get; } =
        Moves.Keys.Where(s => !IsFinal(s)).ToArray();
}
