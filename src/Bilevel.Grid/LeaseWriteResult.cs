namespace Bilevel.Grid;

/// <summary>
/// The outcome of a fenced write. <see cref="LeaseLost"/>: the lease expired, was taken over by a later attempt, or
/// the trial was cancelled; nothing was written and the worker must stop working on the trial.
/// </summary>
public enum LeaseWriteResult
{
    Applied,
    LeaseLost,
}
