using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using Bilevel.Contracts;
using Bilevel.Grid.Running.Internal;
using Bilevel.Hypergradients;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;

namespace Bilevel.Grid.Running;

/// <summary>
/// Runs one claimed trial to its end: builds the task's problem (<see cref="Bilevel.Tasks.TaskCatalog"/>) with the
/// trial's searched values merged into its config (<see cref="TrialConfiguration"/>), the estimator or two-phase
/// schedule (<see cref="EstimatorFactory"/>) and the outer optimizer; resumes from the claimed checkpoint if there
/// is one; runs the outer steps, writing a checkpoint with the metrics of its steps every
/// <see cref="SweepSpec.CheckpointInterval"/> steps in one transaction; records the phase switch; and completes
/// the trial with its result. Used by the silo's worker slots and in-process by <c>bilevel run</c>.
/// </summary>
/// <remarks>
/// <para>Failures: a divergence (<see cref="HypergradientDivergenceException"/>) or a bad configuration fails the
/// trial for good with the step and the reason; other errors of the computation fail it too, except out-of-memory,
/// which is retryable. Errors of the store that are not connection problems propagate to the caller.</para>
/// <para>Stopping: when <c>stopToken</c> is cancelled (worker shutdown) or a heartbeat finds the sweep paused, the
/// runner checkpoints after the outer step in flight and releases the trial. When the lease is lost (a heartbeat or
/// a fenced write finds it expired or taken over) it stops at once, writes nothing more and abandons the step in
/// flight. Cancelling <c>cancellationToken</c> stops it the same way and throws
/// <see cref="OperationCanceledException"/>.</para>
/// <para>Determinism: all randomness is keyed by (seed, outer step, purpose) and the engine's kernels partition work
/// by <see cref="TrialRunnerOptions.ThreadsPerTrial"/> alone, so a trial resumed from a checkpoint ends with the
/// same φ, bit for bit, as an uninterrupted run with the same thread count.</para>
/// </remarks>
public sealed partial class TrialRunner
{
    private readonly IGridStore _store;
    private readonly TrialRunnerOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ResiliencePipeline _reconnect;

    public TrialRunner(IGridStore store, TrialRunnerOptions? options = null, ILogger<TrialRunner>? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _options = options ?? new TrialRunnerOptions();
        _options.Validate();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
        _reconnect = GridResilience.CreateReconnectPipeline(_options.ReconnectFirstDelay, _options.ReconnectMaxDelay, _time,
            (e, attempt, delay) => LogStoreUnreachable(_logger, e, attempt, delay));
    }

    /// <summary>Runs <paramref name="claimed"/> of the sweep <paramref name="spec"/> until it completes, fails or stops.</summary>
    /// <param name="progress">Told after every outer step; null for none.</param>
    /// <param name="stopToken">Cancelled to make the runner checkpoint, release the trial and return.</param>
    /// <param name="cancellationToken">Cancelled to abandon the trial without writing anything more.</param>
    public async Task<TrialRunResult> RunAsync(
        ClaimedTrial claimed, SweepSpec spec, IProgress<TrialStepReport>? progress, CancellationToken stopToken, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claimed);
        ArgumentNullException.ThrowIfNull(spec);
        var trial = claimed.Trial;
        var keeper = new LeaseKeeper(_store, claimed.Lease, _options.LeaseDuration / 3, _reconnect, _time, _logger, cancellationToken);
        var run = new Run(this, claimed, keeper, progress);
        try
        {
            return await run.ExecuteAsync(spec, stopToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (keeper.LostToken.IsCancellationRequested)
        {
            cancellationToken.ThrowIfCancellationRequested();
            LogLeaseLost(_logger, trial.Id, claimed.Lease.Attempt, run.Step);
            return new TrialRunResult(TrialRunOutcome.LeaseLost, run.Step, "the lease was lost");
        }
        finally
        {
            run.Dispose();
            await keeper.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The state of one run of one trial.</summary>
    private sealed class Run(TrialRunner runner, ClaimedTrial claimed, LeaseKeeper keeper, IProgress<TrialStepReport>? progress) : IDisposable
    {
        private readonly List<MetricSample> _pending = [];
        private readonly ComputeThread _compute = new($"trial {claimed.Trial.Id}");
        private ITrialExecution? _execution;
        private TrialConfiguration? _configuration;
        private int _savedStep = -1;
        private double _bestLoss = double.PositiveInfinity;
        private int _bestStep = -1;
        private int? _resumedFrom;

        private TrialLease Lease => claimed.Lease;

        private long TrialId => claimed.Trial.Id;

        private ILogger Logger => runner._logger;

        /// <summary>Outer steps completed.</summary>
        public int Step { get; private set; }

        public async Task<TrialRunResult> ExecuteAsync(SweepSpec spec, CancellationToken stopToken)
        {
            var lost = keeper.LostToken;
            try
            {
                _configuration = TrialConfiguration.Resolve(spec, claimed.Trial.Params, claimed.Trial.Seed);
                var configuration = _configuration;
                _execution = await _compute.RunAsync(() => TrialExecution.Create(configuration, runner._options.ThreadsPerTrial)).ConfigureAwait(false);
                if (claimed.Checkpoint is { } record)
                    Restore(record);
            }
            catch (Exception e) when (e is TrialConfigException or CheckpointFormatException || (e is ArgumentException && e is not ArgumentNullException))
            {
                var reason = e is CheckpointFormatException ? $"cannot resume from the checkpoint: {e.Message}" : $"bad configuration: {e.Message}";
                return await FailAsync(reason, null, retryable: false, lost).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return await FailAsync($"could not build the trial: {e.GetType().Name}: {e.Message}", null, retryable: true, lost).ConfigureAwait(false);
            }

            var execution = _execution;
            var outerSteps = _configuration.OuterSteps;
            var interval = Math.Max(1, _configuration.CheckpointInterval);
            if (_resumedFrom is { } from)
                LogResumed(Logger, TrialId, Lease.Attempt, from, outerSteps);
            else
                LogStarted(Logger, TrialId, Lease.Attempt, execution.EstimatorName, outerSteps);
            if (execution.Schedule is { Phase: Phase.Two, SwitchStep: { } restoredSwitch } && claimed.Trial.Phase != TrialPhase.Two
                && !await WriteAsync(ct => runner._store.SwitchPhaseAsync(Lease, (int)restoredSwitch, ct), lost).ConfigureAwait(false))
                return Lost();

            while (Step < outerSteps)
            {
                lost.ThrowIfCancellationRequested();
                if (stopToken.IsCancellationRequested || keeper.SweepPaused)
                    return await YieldAsync(keeper.SweepPaused ? "its sweep was paused" : "the worker is stopping").ConfigureAwait(false);

                var k = Step;
                var phaseBefore = execution.Schedule?.Phase;
                OuterStepResult result;
                try
                {
                    result = await ComputeAsync(() => execution.Step(k), lost).ConfigureAwait(false);
                }
                catch (HypergradientDivergenceException e)
                {
                    await SaveAsync(lost).ConfigureAwait(false);
                    return await FailAsync($"diverged: {e.Reason}", (int)e.OuterStep, retryable: false, lost).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    var retryable = e is OutOfMemoryException or InsufficientExecutionStackException;
                    return await FailAsync($"outer step failed: {e.GetType().Name}: {e.Message}", k, retryable, lost).ConfigureAwait(false);
                }

                Record(k, result, execution.PhaseAt(k));
                Step = k + 1;
                progress?.Report(new TrialStepReport(TrialId, Step, outerSteps, result.OuterLoss, execution.PhaseAt(k)));

                if (execution.Schedule is { Phase: Phase.Two, SwitchStep: { } switchStep } && phaseBefore == Phase.One)
                {
                    LogPhaseSwitched(Logger, TrialId, switchStep);
                    if (!await WriteAsync(ct => runner._store.SwitchPhaseAsync(Lease, (int)switchStep, ct), lost).ConfigureAwait(false))
                        return Lost();
                }
                if (Step % interval == 0 && Step < outerSteps && !await SaveAsync(lost).ConfigureAwait(false))
                    return Lost();
            }

            return await CompleteAsync(lost).ConfigureAwait(false);
        }

        /// <summary>Ends the compute thread; it disposes the execution after any step still in flight (abandoned on a lost lease).</summary>
        public void Dispose()
        {
            var execution = _execution;
            _compute.Dispose(() => execution?.Dispose());
        }

        private void Restore(CheckpointRecord record)
        {
            var checkpoint = TrialCheckpoint.Parse(record.Payload);
            if (checkpoint.OuterStep != record.OuterStep)
                throw new CheckpointFormatException($"the payload is at outer step {checkpoint.OuterStep}, its record says {record.OuterStep}.");
            if (checkpoint.OuterStep > _configuration!.OuterSteps)
                throw new CheckpointFormatException($"it is at outer step {checkpoint.OuterStep}, past the trial's {_configuration.OuterSteps} steps.");
            if (checkpoint.Fingerprint != _configuration.Fingerprint)
                LogFingerprintMismatch(Logger, TrialId, checkpoint.Fingerprint, _configuration.Fingerprint);
            if (checkpoint.Threads != runner._options.ThreadsPerTrial)
                LogThreadsDiffer(Logger, TrialId, checkpoint.Threads, runner._options.ThreadsPerTrial);
            _execution!.Restore(checkpoint);
            Step = checkpoint.OuterStep;
            _savedStep = checkpoint.OuterStep;
            _bestLoss = checkpoint.BestLoss;
            _bestStep = checkpoint.BestStep;
            _resumedFrom = checkpoint.OuterStep;
        }

        private void Record(int k, OuterStepResult result, int phase)
        {
            _pending.Add(new MetricSample(TrialMetrics.OuterLoss, k, result.OuterLoss));
            AddIfFinite(TrialMetrics.GradientNorm, k, result.GradientNorm);
            _pending.Add(new MetricSample(TrialMetrics.EstimateSeconds, k, result.Cost.Elapsed.TotalSeconds));
            _pending.Add(new MetricSample(TrialMetrics.PeakBytes, k, result.Cost.PeakBytes));
            _pending.Add(new MetricSample(TrialMetrics.HvpCount, k, result.Cost.HvpCount));
            _pending.Add(new MetricSample(TrialMetrics.InnerPasses, k, result.Cost.InnerPasses));
            if (_execution!.Schedule is not null)
                _pending.Add(new MetricSample(TrialMetrics.Phase, k, phase));
            if (result.Diagnostic is { } d)
            {
                AddIfFinite(TrialMetrics.DiagnosticCosine, k, d.Cosine);
                AddIfFinite(TrialMetrics.DiagnosticRelativeError, k, d.RelativeError);
            }
            if (result.OuterLoss < _bestLoss)
            {
                _bestLoss = result.OuterLoss;
                _bestStep = k;
            }
        }

        private void AddIfFinite(string name, int step, double value)
        {
            if (double.IsFinite(value))
                _pending.Add(new MetricSample(name, step, value));
        }

        /// <summary>Writes a checkpoint at <see cref="Step"/> with the pending metrics; false when the lease is lost.</summary>
        private async Task<bool> SaveAsync(CancellationToken token)
        {
            if (_execution is null || (Step == _savedStep && _pending.Count == 0) || (Step == 0 && _pending.Count == 0))
                return true;
            var progress = new TrialProgress(Step, Capture(Step), [.. _pending]);
            if (!await WriteAsync(ct => runner._store.SaveProgressAsync(Lease, progress, ct), token).ConfigureAwait(false))
                return false;
            _pending.Clear();
            _savedStep = Step;
            LogCheckpointed(Logger, TrialId, Step);
            return true;
        }

        private byte[] Capture(int step) => _execution!.Capture(step, _bestLoss, _bestStep, _configuration!.Fingerprint).ToBytes();

        private async Task<TrialRunResult> YieldAsync(string why)
        {
            using var timeout = new CancellationTokenSource(runner._options.StopWriteTimeout, runner._time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, keeper.LostToken);
            if (!await SaveAsync(linked.Token).ConfigureAwait(false))
                return Lost();
            await keeper.StopHeartbeatsAsync().ConfigureAwait(false);
            if (!await WriteAsync(ct => runner._store.ReleaseAsync(Lease, ct), linked.Token).ConfigureAwait(false))
                return Lost();
            LogReleased(Logger, TrialId, Step, why);
            return new TrialRunResult(TrialRunOutcome.Released, Step, why);
        }

        private async Task<TrialRunResult> FailAsync(string reason, int? outerStep, bool retryable, CancellationToken token)
        {
            var failure = new TrialFailure(reason, outerStep, retryable);
            await keeper.StopHeartbeatsAsync().ConfigureAwait(false);
            if (!await WriteAsync(ct => runner._store.FailAsync(Lease, failure, ct), token).ConfigureAwait(false))
                return Lost();
            LogFailed(Logger, TrialId, Lease.Attempt, outerStep ?? Step, reason, retryable);
            return new TrialRunResult(retryable ? TrialRunOutcome.Retried : TrialRunOutcome.Failed, Step, reason);
        }

        private async Task<TrialRunResult> CompleteAsync(CancellationToken token)
        {
            var execution = _execution!;
            var outerSteps = _configuration!.OuterSteps;
            double finalLoss;
            try
            {
                finalLoss = await ComputeAsync(() => execution.OuterLoss(outerSteps), token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return await FailAsync($"final evaluation failed: {e.GetType().Name}: {e.Message}", outerSteps, retryable: false, token).ConfigureAwait(false);
            }
            var summary = execution.Summarize();
            if (!double.IsFinite(finalLoss) || !double.IsFinite(summary.L2Norm))
            {
                await SaveAsync(token).ConfigureAwait(false);
                return await FailAsync($"diverged: the final φ {(double.IsFinite(summary.L2Norm) ? "has outer loss " + finalLoss : "is not finite")}",
                    outerSteps, retryable: false, token).ConfigureAwait(false);
            }
            _pending.Add(new MetricSample(TrialMetrics.OuterLoss, outerSteps, finalLoss));
            if (finalLoss < _bestLoss)
            {
                _bestLoss = finalLoss;
                _bestStep = outerSteps;
            }
            var result = ResultJson(finalLoss, summary);
            var completion = new TrialCompletion(outerSteps, result, [.. _pending], Capture(outerSteps));
            await keeper.StopHeartbeatsAsync().ConfigureAwait(false);
            if (!await WriteAsync(ct => runner._store.CompleteAsync(Lease, completion, ct), token).ConfigureAwait(false))
                return Lost();
            _pending.Clear();
            LogCompleted(Logger, TrialId, Lease.Attempt, outerSteps, finalLoss, _bestLoss);
            return new TrialRunResult(TrialRunOutcome.Completed, outerSteps, null, result);
        }

        private JsonElement ResultJson(double finalLoss, PhiSummary phi)
        {
            var buffer = new ArrayBufferWriter<byte>();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                w.WriteNumber("finalOuterLoss", finalLoss);
                w.WriteNumber("bestOuterLoss", _bestLoss);
                w.WriteNumber("bestStep", _bestStep);
                w.WriteNumber("outerSteps", _configuration!.OuterSteps);
                w.WriteString("estimator", _execution!.EstimatorName);
                w.WriteString("precision", _configuration.Outer.Precision == TrialPrecision.Float32 ? "float32" : "float64");
                w.WriteNumber("threads", runner._options.ThreadsPerTrial);
                if (_execution.Schedule is { SwitchStep: { } switchStep })
                    w.WriteNumber("phaseSwitchStep", switchStep);
                if (_resumedFrom is { } from)
                    w.WriteNumber("resumedFromStep", from);
                w.WriteStartObject("phi");
                w.WriteNumber("size", phi.Size);
                w.WriteNumber("l2Norm", phi.L2Norm);
                w.WriteNumber("min", phi.Min);
                w.WriteNumber("max", phi.Max);
                w.WriteNumber("mean", phi.Mean);
                w.WriteStartArray("head");
                foreach (var v in phi.Head)
                    w.WriteNumberValue(v);
                w.WriteEndArray();
                w.WriteString("sha256", phi.Sha256);
                w.WriteEndObject();
                w.WriteEndObject();
            }
            using var document = JsonDocument.Parse(buffer.WrittenMemory);
            return document.RootElement.Clone();
        }

        /// <summary>Runs one computation on the trial's thread; stops waiting for it (it finishes on its own) when the lease is lost.</summary>
        private Task<T> ComputeAsync<T>(Func<T> work, CancellationToken lost) => _compute.RunAsync(work).WaitAsync(lost);

        /// <summary>A fenced write, retried while the database is unreachable; false (and the lease marked lost) when refused.</summary>
        private async Task<bool> WriteAsync(Func<CancellationToken, Task<LeaseWriteResult>> write, CancellationToken token)
        {
            var result = await runner._reconnect.ExecuteAsync(async ct => await write(ct).ConfigureAwait(false), token).ConfigureAwait(false);
            if (result == LeaseWriteResult.Applied)
                return true;
            keeper.MarkLost();
            return false;
        }

        private TrialRunResult Lost()
        {
            LogLeaseLost(Logger, TrialId, Lease.Attempt, Step);
            return new TrialRunResult(TrialRunOutcome.LeaseLost, Step, "the lease was lost");
        }
    }
}
