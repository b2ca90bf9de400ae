using System.Text.Json;

namespace Bilevel.Contracts;

/// <summary>
/// A trial as the API shows it. <see cref="Attempt"/> counts claims (and fences writes); <see cref="Failures"/>
/// counts attempts that ended badly (an expired lease, a retryable error). Times are the database's clock.
/// </summary>
public sealed record TrialView(
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
    string? LeaseOwner,
    DateTimeOffset? LeaseExpiresAt,
    DateTimeOffset? HeartbeatAt,
    JsonElement? Result,
    string? Error,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt);
