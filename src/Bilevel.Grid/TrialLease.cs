namespace Bilevel.Grid;

/// <summary>
/// The right to write one running trial: the trial, the attempt that claimed it (the fencing token) and the owner.
/// Every write names all three and is refused once any of them no longer matches, or the lease has expired by the
/// database's clock.
/// </summary>
public sealed record TrialLease(long TrialId, int Attempt, string Owner);
