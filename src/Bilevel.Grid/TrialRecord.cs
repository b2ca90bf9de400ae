using System.Text.Json;
using Bilevel.Contracts;

namespace Bilevel.Grid;

/// <summary>
/// A stored trial: its place in the sweep (number, searched parameter values, seed), its state and phase, the
/// current lease (owner, expiry, fencing attempt) and its outcome. Times are the database's clock.
/// </summary>
public sealed record TrialRecord(
    long Id,
    long SweepId,
    int Number,
    JsonElement Params,
    long Seed,
    TrialState State,
    TrialPhase Phase,
    int? PhaseSwitchStep,
    int OuterStep,
    int Attempt,
    int Failures,
    int MaxAttempts,
    int Priority,
    DeviceRequirement Device,
    string? LeaseOwner,
    DateTimeOffset? LeaseExpiresAt,
    DateTimeOffset? HeartbeatAt,
    JsonElement? Result,
    string? Error,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt);
