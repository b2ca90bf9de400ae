using System.Data.Common;
using System.Net.Sockets;
using Polly;
using Polly.Retry;

namespace Bilevel.Grid.Running;

/// <summary>
/// Riding out an unreachable database: store calls that failed because the connection broke, the server was
/// restarting or refused connections are retried with exponential backoff (with jitter), for as long as the
/// caller's token allows. Transience is decided by exception type and SQLSTATE class, never by message text.
/// </summary>
public static class GridResilience
{
    /// <summary>
    /// True for failures that a later attempt may not meet: a <see cref="DbException"/> the provider marks transient,
    /// or whose SQLSTATE is of class 08 (connection exception), 53 (insufficient resources) or 57P (operator
    /// intervention: admin/crash shutdown, cannot connect now, idle session timeout), 25P03 (the server ended a session
    /// idle in a transaction), 40001 or 40P01; socket, I/O and timeout errors. A retried write that had committed
    /// before its connection broke is harmless: writes are fenced by the lease and idempotent within it.
    /// </summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        DbException db => db.IsTransient || db.SqlState is { } state && (
            state.StartsWith("08", StringComparison.Ordinal) ||
            state.StartsWith("53", StringComparison.Ordinal) ||
            state.StartsWith("57P", StringComparison.Ordinal) ||
            state is "25P03" or "40001" or "40P01") || (db.InnerException is { } inner && IsTransient(inner)),
        SocketException or IOException or TimeoutException => true,
        _ => false,
    };

    /// <summary>
    /// A pipeline that retries <see cref="IsTransient"/> failures without limit, waiting
    /// <paramref name="firstDelay"/> · 2ⁿ (jittered) up to <paramref name="maxDelay"/> between attempts;
    /// cancelling the call's token ends it. <paramref name="onRetry"/> sees each failure and the coming delay.
    /// </summary>
    public static ResiliencePipeline CreateReconnectPipeline(
        TimeSpan firstDelay, TimeSpan maxDelay, TimeProvider timeProvider, Action<Exception, int, TimeSpan>? onRetry = null)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        return new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(IsTransient),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = firstDelay,
                MaxDelay = maxDelay,
                OnRetry = args =>
                {
                    if (args.Outcome.Exception is { } e)
                        onRetry?.Invoke(e, args.AttemptNumber, args.RetryDelay);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }
}
