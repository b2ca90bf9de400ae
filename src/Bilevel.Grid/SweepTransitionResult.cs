using Bilevel.Contracts;

namespace Bilevel.Grid;

/// <summary>The outcome of pausing, resuming or cancelling a sweep, with the sweep's state afterwards.</summary>
public sealed record SweepTransitionResult(SweepTransitionOutcome Outcome, SweepState? State);

public enum SweepTransitionOutcome
{
    /// <summary>The sweep moved to the requested state.</summary>
    Applied,

    /// <summary>The sweep already was in the requested state.</summary>
    Unchanged,

    /// <summary>The sweep's state does not allow the move (e.g. resuming a cancelled sweep).</summary>
    NotAllowed,

    NotFound,
}
