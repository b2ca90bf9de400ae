using Bilevel.Grid;

namespace Bilevel.Silo.Worker;

/// <summary>The worker role's settings, from the <c>Worker</c> section.</summary>
public sealed class WorkerOptions
{
    public const string SectionName = "Worker";

    /// <summary>
    /// This process's name in the grid; each device kind registers as <c>{WorkerId}/cpu</c> or <c>{WorkerId}/cuda</c>,
    /// which is also the lease owner of the trials it runs. Also <c>--worker-id</c>. Default
    /// <c>{host}-{process id}-{6 random hex digits}</c>.
    /// </summary>
    public string? WorkerId { get; set; }

    /// <summary>Slots for CPU trials (one trial per slot). Also <c>--cpu-slots</c>. Default one per two cores, at least 1.</summary>
    public int? CpuSlots { get; set; }

    /// <summary>
    /// Slots for CUDA trials; a CUDA slot claims only trials that require a CUDA device. Declarable on a machine
    /// without a GPU (the engine then computes on the CPU). Also <c>--cuda-slots</c>. Default 0.
    /// </summary>
    public int CudaSlots { get; set; }

    /// <summary>
    /// Compute threads per trial. Results are bit-identical for a given count: keep it equal across the workers of
    /// a grid so resumed trials repeat their first attempt exactly. Default cores / CPU slots, at least 1.
    /// </summary>
    public int? ThreadsPerTrial { get; set; }

    /// <summary>How long a claimed trial's lease lasts without a heartbeat (heartbeats come every third). Default 30 seconds.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an idle slot waits for a work notification before it polls the store anyway. Default 5 seconds.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Time between the worker registration's heartbeats. Default 10 seconds.</summary>
    public TimeSpan WorkerHeartbeatInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>First delay before retrying when the database is unreachable. Default 100 ms.</summary>
    public TimeSpan ReconnectFirstDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest delay between reconnect attempts (exponential backoff with jitter). Default 5 seconds.</summary>
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long the checkpoint and release at shutdown may take per trial. Default 15 seconds.</summary>
    public TimeSpan StopWriteTimeout { get; set; } = TimeSpan.FromSeconds(15);

    internal int ResolveCpuSlots() => CpuSlots ?? Math.Max(1, Environment.ProcessorCount / 2);

    internal int ResolveThreads() => ThreadsPerTrial ?? Math.Max(1, Environment.ProcessorCount / Math.Max(1, ResolveCpuSlots()));

    internal string ResolveWorkerId() => string.IsNullOrWhiteSpace(WorkerId)
        ? $"{Environment.MachineName}-{Environment.ProcessId}-{Random.Shared.Next(1 << 24):x6}"
        : WorkerId.Trim();

    /// <summary>Every problem with these settings, each naming its key; empty when valid.</summary>
    internal IEnumerable<string> Problems()
    {
        if (CpuSlots is < 0)
            yield return $"Worker:CpuSlots must be ≥ 0, got {CpuSlots}.";
        if (CudaSlots < 0)
            yield return $"Worker:CudaSlots must be ≥ 0, got {CudaSlots}.";
        if (ResolveCpuSlots() + CudaSlots == 0)
            yield return "Worker:CpuSlots and Worker:CudaSlots are both 0: a worker needs at least one slot.";
        if (ThreadsPerTrial is < 1)
            yield return $"Worker:ThreadsPerTrial must be ≥ 1, got {ThreadsPerTrial}.";
        if (LeaseDuration < ClaimRequest.MinLease || LeaseDuration > ClaimRequest.MaxLease)
            yield return $"Worker:LeaseDuration must be in [{ClaimRequest.MinLease}, {ClaimRequest.MaxLease}], got {LeaseDuration}.";
        if (PollInterval <= TimeSpan.Zero)
            yield return $"Worker:PollInterval must be positive, got {PollInterval}.";
        if (WorkerHeartbeatInterval <= TimeSpan.Zero)
            yield return $"Worker:WorkerHeartbeatInterval must be positive, got {WorkerHeartbeatInterval}.";
        if (ReconnectFirstDelay <= TimeSpan.Zero || ReconnectMaxDelay < ReconnectFirstDelay)
            yield return "Worker:ReconnectFirstDelay must be positive and Worker:ReconnectMaxDelay at least as long.";
        if (StopWriteTimeout <= TimeSpan.Zero)
            yield return $"Worker:StopWriteTimeout must be positive, got {StopWriteTimeout}.";
        if (WorkerId is { Length: > WorkerRegistration.MaxIdLength - 8 })
            yield return $"Worker:WorkerId is at most {WorkerRegistration.MaxIdLength - 8} characters long.";
    }
}
