namespace Bilevel.Grid;

/// <summary>
/// A trial a worker now holds: the lease to write it with, the trial, and the checkpoint to resume from (null for
/// a fresh start).
/// </summary>
public sealed record ClaimedTrial(TrialLease Lease, TrialRecord Trial, CheckpointRecord? Checkpoint);
