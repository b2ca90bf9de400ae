using Microsoft.Extensions.Logging;
using Npgsql;

namespace Bilevel.Grid.Internal;

/// <summary>
/// Holds one connection that LISTENs on the grid's channel and turns each NOTIFY into a wake-up of every subscribed
/// worker loop. A lost connection is reopened with exponential backoff; every (re)connection also wakes the loops,
/// since notifications sent while nobody listened are gone.
/// </summary>
internal sealed partial class PostgresWorkListener : IAsyncDisposable
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(10);

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _channel;
    private readonly WorkSignalHub _hub;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _loop;

    public PostgresWorkListener(NpgsqlDataSource dataSource, string channel, WorkSignalHub hub, TimeProvider time, ILogger logger)
    {
        _dataSource = dataSource;
        _channel = channel;
        _hub = hub;
        _time = time;
        _logger = logger;
        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    /// <summary>Completes once the first LISTEN is in place.</summary>
    public Task Listening => _listening.Task;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var backoff = FirstBackoff;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                connection.Notification += (_, _) => _hub.SignalAll();
                // The channel is built from the validated schema name, never from request data.
                await using (var listen = new NpgsqlCommand($"LISTEN \"{_channel}\"", connection))
                    await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                _listening.TrySetResult();
                _hub.SignalAll();
                backoff = FirstBackoff;
                while (true)
                    await connection.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or IOException or TimeoutException)
            {
                LogListenerLost(_logger, e, _channel, backoff);
                _hub.SignalAll();
                try
                {
                    await Task.Delay(backoff, _time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost the LISTEN connection on channel {Channel}; reconnecting in {Backoff}")]
    private static partial void LogListenerLost(ILogger logger, Exception exception, string channel, TimeSpan backoff);
}
