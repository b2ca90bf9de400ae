namespace Bilevel.Grid;

/// <summary>
/// The latest checkpoint of a trial: the opaque payload the trial runner serialised (φ, optimizer state, RNG
/// counters, estimator state, phase) after <see cref="OuterStep"/> outer steps, by the attempt that wrote it.
/// </summary>
public sealed record CheckpointRecord(long TrialId, int Attempt, int OuterStep, byte[] Payload, DateTimeOffset CreatedAt);
