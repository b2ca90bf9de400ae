using Bilevel.Contracts;
using Bilevel.Grid;
using Bilevel.Grid.Running;
using Bilevel.Tensors;
using Polly;

namespace Bilevel.Silo.Worker;

/// <summary>
/// One slot's loop: claim a trial of the pool's device kind, run it, repeat; when the queue is empty, wait for a
/// work notification (LISTEN/NOTIFY on PostgreSQL) or, failing one, poll after <see cref="WorkerOptions.PollInterval"/>.
/// Store calls ride out an unreachable database with exponential backoff; any other error of one trial is logged
/// and recorded on that trial, and the loop goes on.
/// </summary>
internal sealed partial class ClaimLoop(
    int slot,
    DevicePool pool,
    string workerId,
    IGridStore store,
    TrialRunner runner,
    SweepSpecCache specs,
    WorkerOptions options,
    ResiliencePipeline reconnect,
    TimeProvider time,
    ILogger logger)
{
    private static readonly TimeSpan ErrorPause = TimeSpan.FromSeconds(1);

    /// <summary>Runs until <paramref name="stopping"/> is cancelled; the trial in flight then checkpoints and is released.</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        IWorkSignal? signal = null;
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                try
                {
                    signal ??= await reconnect.ExecuteAsync(async ct => await store.ListenForWorkAsync(ct).ConfigureAwait(false), stopping).ConfigureAwait(false);
                    if (!await ClaimAndRunAsync(stopping).ConfigureAwait(false))
                        await signal.WaitAsync(options.PollInterval, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception e)
                {
                    LogLoopError(logger, e, pool.Kind, slot);
                    try
                    {
                        await Task.Delay(ErrorPause, time, stopping).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }
            }
        }
        finally
        {
            if (signal is not null)
                await signal.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Claims and runs one trial; false when there was none to claim.</summary>
    private async Task<bool> ClaimAndRunAsync(CancellationToken stopping)
    {
        var free = await pool.TakeAllAsync(stopping).ConfigureAwait(false);
        ClaimedTrial? claimed;
        try
        {
            var request = new ClaimRequest(workerId, pool.Kind, free, options.LeaseDuration);
            claimed = await reconnect.ExecuteAsync(async ct => await store.ClaimAsync(request, ct).ConfigureAwait(false), stopping).ConfigureAwait(false);
        }
        catch
        {
            pool.Return(free);
            throw;
        }
        if (claimed is null)
        {
            pool.Return(free);
            return false;
        }
        var used = Math.Clamp(claimed.Trial.Device.Slots, 1, free);
        pool.Return(free - used);
        try
        {
            await RunAsync(claimed, stopping).ConfigureAwait(false);
        }
        finally
        {
            pool.Return(used);
        }
        return true;
    }

    private async Task ReleaseAsync(ClaimedTrial claimed)
    {
        try
        {
            using var timeout = new CancellationTokenSource(options.StopWriteTimeout, time);
            await store.ReleaseAsync(claimed.Lease, timeout.Token).ConfigureAwait(false);
            LogReleasedBeforeRun(logger, claimed.Trial.Id);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogReleaseFailed(logger, e, claimed.Trial.Id);
        }
    }

    private async Task RunAsync(ClaimedTrial claimed, CancellationToken stopping)
    {
        var trial = claimed.Trial;
        LogClaimed(logger, trial.Id, trial.SweepId, trial.Number, claimed.Lease.Attempt, pool.Kind, slot, claimed.Checkpoint?.OuterStep);
        try
        {
            SweepSpec? spec;
            try
            {
                spec = await reconnect.ExecuteAsync(async ct => await specs.GetAsync(trial.SweepId, ct).ConfigureAwait(false), stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                // Shutdown arrived between the claim and the run: hand the trial back now, not at its lease's expiry.
                await ReleaseAsync(claimed).ConfigureAwait(false);
                return;
            }
            if (spec is null)
            {
                await store.FailAsync(claimed.Lease, new TrialFailure($"sweep {trial.SweepId} no longer exists", null, Retryable: false), CancellationToken.None).ConfigureAwait(false);
                return;
            }
            // Shutdown is a request to checkpoint and yield, not an abort: the runner finishes the step in flight.
            var result = await runner.RunAsync(claimed, spec, progress: null, stopToken: stopping, cancellationToken: CancellationToken.None).ConfigureAwait(false);
            LogFinished(logger, trial.Id, result.Outcome, result.OuterStep);
        }
        catch (Exception e) when (e is not OperationCanceledException || !stopping.IsCancellationRequested)
        {
            // A worker-side error (not the trial's arithmetic, which the runner records itself): give the attempt back
            // as a retryable failure so another attempt, perhaps elsewhere, can run it.
            LogTrialError(logger, e, trial.Id);
            try
            {
                using var timeout = new CancellationTokenSource(options.StopWriteTimeout, time);
                await store.FailAsync(claimed.Lease, new TrialFailure($"worker error: {e.GetType().Name}: {e.Message}", null, Retryable: true), timeout.Token).ConfigureAwait(false);
            }
            catch (Exception inner) when (inner is not OutOfMemoryException)
            {
                LogFailWriteFailed(logger, inner, trial.Id);
            }
        }
        finally
        {
            // The tensor pool keeps every buffer size it has lent; the next trial may have other sizes (another model,
            // batch or estimator), so this one's go back to the operating system instead of staying resident. A trial
            // still running in another slot re-allocates what it next asks for, once.
            TensorMemory.ReleaseIdle();
        }
    }
}
