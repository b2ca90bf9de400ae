using Bilevel.Contracts;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bilevel.Grid;

/// <summary>Settings both stores share.</summary>
public sealed class GridStoreOptions
{
    /// <summary>How often a transaction that hit a serialization failure or a deadlock is retried. Default 5.</summary>
    public int MaxTransientRetries { get; init; } = 5;

    /// <summary>The reaper forgets workers whose last heartbeat is older than this. Default 1 day.</summary>
    public TimeSpan ForgetWorkersAfter { get; init; } = TimeSpan.FromDays(1);

    /// <summary>Most trials one sweep may expand to. Default <see cref="SpecLimits.MaxTrials"/> (100,000).</summary>
    public int MaxTrialsPerSweep { get; init; } = SpecLimits.Default.MaxTrials;

    /// <summary>Largest checkpoint payload accepted. Default 256 MiB.</summary>
    public int MaxCheckpointBytes { get; init; } = 256 << 20;

    /// <summary>
    /// The client's clock, used only for what the client itself waits on (work-signal timeouts, reconnect backoff);
    /// leases are measured by the database. Default <see cref="TimeProvider.System"/>.
    /// </summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Default <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;
}
