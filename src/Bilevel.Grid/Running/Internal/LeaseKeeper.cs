using Microsoft.Extensions.Logging;
using Polly;

namespace Bilevel.Grid.Running.Internal;

/// <summary>
/// Heartbeats one trial's lease every <c>interval</c> (a third of the lease) while it runs. A heartbeat that finds
/// the lease gone cancels <see cref="LostToken"/> at once; one that finds the sweep paused raises
/// <see cref="SweepPaused"/> for the runner to checkpoint and yield. An unreachable database is ridden out by the
/// reconnect pipeline: the lease is measured by the database's clock, so what the heartbeat could not renew the
/// next fenced write finds lost.
/// </summary>
internal sealed partial class LeaseKeeper : IAsyncDisposable
{
    private readonly IGridStore _store;
    private readonly TrialLease _lease;
    private readonly TimeSpan _interval;
    private readonly ResiliencePipeline _reconnect;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _lost;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private volatile bool _paused;

    public LeaseKeeper(IGridStore store, TrialLease lease, TimeSpan interval, ResiliencePipeline reconnect, TimeProvider time, ILogger logger, CancellationToken cancellationToken)
    {
        _store = store;
        _lease = lease;
        _interval = interval;
        _reconnect = reconnect;
        _time = time;
        _logger = logger;
        _lost = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _loop = Task.Run(() => RunAsync(_stop.Token), CancellationToken.None);
    }

    /// <summary>Cancelled when the lease is known lost, or when the caller's token is.</summary>
    public CancellationToken LostToken => _lost.Token;

    public bool LeaseLost { get; private set; }

    public bool SweepPaused => _paused;

    /// <summary>Marks the lease lost (a fenced write was refused).</summary>
    public void MarkLost()
    {
        LeaseLost = true;
        _lost.Cancel();
    }

    /// <summary>
    /// Stops heartbeating (idempotent): called before the trial's last write (complete, fail, release), after which
    /// a heartbeat would only find the lease gone and report a loss that did not happen.
    /// </summary>
    public async Task StopHeartbeatsAsync()
    {
        if (!_stop.IsCancellationRequested)
            await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await StopHeartbeatsAsync().ConfigureAwait(false);
        _stop.Dispose();
        _lost.Dispose();
    }

    private async Task RunAsync(CancellationToken stop)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stop, _lost.Token);
        var token = linked.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_interval, _time, token).ConfigureAwait(false);
                var beat = await _reconnect.ExecuteAsync(ct => new ValueTask<HeartbeatResult>(_store.HeartbeatAsync(_lease, ct)), token).ConfigureAwait(false);
                if (!beat.LeaseHeld)
                {
                    LogLeaseLost(_logger, _lease.TrialId, _lease.Attempt);
                    MarkLost();
                    return;
                }
                if (beat.SweepPaused && !_paused)
                {
                    LogSweepPaused(_logger, _lease.TrialId);
                    _paused = true;
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Not a connection problem (those are retried above): keep the trial running; its writes are fenced.
                LogHeartbeatFailed(_logger, e, _lease.TrialId);
            }
        }
    }
}
