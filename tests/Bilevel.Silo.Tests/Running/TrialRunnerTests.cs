using System.Text.Json;
using Bilevel.Contracts;
using Bilevel.Grid;
using Bilevel.Grid.Running;
using Bilevel.Silo.Tests.Infrastructure;

namespace Bilevel.Silo.Tests.Running;

/// <summary>The trial runner on the quadratic task, in process, on SQLite stores.</summary>
public sealed class TrialRunnerTests : IDisposable
{
    private static readonly TimeSpan LongLease = TimeSpan.FromMinutes(5);
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));

    private CancellationToken Ct => _timeout.Token;

    public void Dispose() => _timeout.Dispose();

    [Fact]
    public async Task Completes_with_a_checkpoint_every_interval_metrics_and_a_result()
    {
        await using var grid = await SqliteGrid.CreateAsync(Ct);
        var spec = QuadraticSpecs.Single(EstimatorNames.Rgu, "{}", outerSteps: 7, checkpointInterval: 2);
        await grid.Store.CreateSweepAsync(spec, Ct);
        var claimed = await grid.ClaimAsync("w", LongLease, Ct);
        var gated = new GatedStore(grid.Store);
        var reports = new List<TrialStepReport>();

        var run = await new TrialRunner(gated).RunAsync(claimed, spec, new SyncProgress<TrialStepReport>(reports.Add), CancellationToken.None, Ct);

        Assert.Equal(TrialRunOutcome.Completed, run.Outcome);
        Assert.Equal([2, 4, 6], gated.SavedSteps);
        Assert.Equal(Enumerable.Range(1, 7), reports.Select(r => r.OuterStep));
        var trial = await grid.Store.GetTrialAsync(claimed.Trial.Id, Ct);
        Assert.Equal(TrialState.Completed, trial!.State);
        Assert.Equal(7, trial.OuterStep);

        var losses = await MetricAsync(grid.Store, trial.Id, TrialMetrics.OuterLoss);
        Assert.Equal(Enumerable.Range(0, 8), losses.Select(m => m.Step));
        Assert.True(losses[^1].Value < losses[0].Value, $"the outer loss should fall: {losses[0].Value} → {losses[^1].Value}");
        foreach (var name in new[] { TrialMetrics.GradientNorm, TrialMetrics.EstimateSeconds, TrialMetrics.PeakBytes, TrialMetrics.HvpCount, TrialMetrics.InnerPasses })
            Assert.Equal(Enumerable.Range(0, 7), (await MetricAsync(grid.Store, trial.Id, name)).Select(m => m.Step));
        Assert.All(await MetricAsync(grid.Store, trial.Id, TrialMetrics.HvpCount), m => Assert.True(m.Value > 0, "RGU makes Hessian-vector products"));

        var result = trial.Result!.Value;
        Assert.Equal(losses[^1].Value, result.GetProperty("finalOuterLoss").GetDouble());
        Assert.Equal(losses.Min(m => m.Value), result.GetProperty("bestOuterLoss").GetDouble());
        Assert.Equal(3, result.GetProperty("phi").GetProperty("size").GetInt32());
        var final = TrialCheckpoint.Parse((await grid.Store.GetCheckpointAsync(trial.Id, Ct))!.Payload);
        Assert.Equal(7, final.OuterStep);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(final.Phi)), result.GetProperty("phi").GetProperty("sha256").GetString());
    }

    [Theory]
    [InlineData("float64")]
    [InlineData("float32")]
    public async Task A_trial_resumed_from_checkpoints_ends_bit_identical_to_an_uninterrupted_run(string precision)
    {
        // TRGU → FG2U after step 9, Adam on φ: the checkpoint carries φ, Adam's moments and the schedule's state.
        var spec = QuadraticSpecs.TwoPhase(outerSteps: 20, checkpointInterval: 5, switchStep: 9) with
        {
            Search = new SearchSpace(0, 1, new Dictionary<string, SearchParameter>
            {
                ["outer.precision"] = new GridParameter([QuadraticSpecs.Json($"\"{precision}\"")]),
            }),
        };

        await using var reference = await SqliteGrid.CreateAsync(Ct);
        await reference.Store.CreateSweepAsync(spec, Ct);
        var uninterrupted = await new TrialRunner(reference.Store).RunAsync(await reference.ClaimAsync("a", LongLease, Ct), spec, null, CancellationToken.None, Ct);
        Assert.Equal(TrialRunOutcome.Completed, uninterrupted.Outcome);

        await using var grid = await SqliteGrid.CreateAsync(Ct);
        await grid.Store.CreateSweepAsync(spec, Ct);
        var runner = new TrialRunner(grid.Store);

        // Attempt 1: a graceful stop after step 7 checkpoints there (between intervals) and releases the trial.
        using (var stop = new CancellationTokenSource())
        {
            var first = await runner.RunAsync(await grid.ClaimAsync("b", LongLease, Ct), spec,
                new SyncProgress<TrialStepReport>(r => { if (r.OuterStep == 7) stop.Cancel(); }), stop.Token, Ct);
            Assert.Equal(TrialRunOutcome.Released, first.Outcome);
            Assert.Equal(7, first.OuterStep);
        }

        // Attempt 2: resumes at 7, passes the switch at 9 and the checkpoint at 10, then crashes at 13 (nothing more written).
        var second = await grid.ClaimAsync("c", LongLease, Ct);
        Assert.Equal(7, second.Checkpoint!.OuterStep);
        using (var crash = new CancellationTokenSource())
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => runner.RunAsync(second, spec,
                new SyncProgress<TrialStepReport>(r => { if (r.OuterStep == 13) crash.Cancel(); }), CancellationToken.None, crash.Token));
        }
        Assert.Equal(10, (await grid.Store.GetCheckpointAsync(second.Trial.Id, Ct))!.OuterStep);
        Assert.Equal(LeaseWriteResult.Applied, await grid.Store.ReleaseAsync(second.Lease, Ct));

        // Attempt 3: resumes at 10, in phase II, and completes.
        var third = await grid.ClaimAsync("d", LongLease, Ct);
        Assert.Equal(10, third.Checkpoint!.OuterStep);
        Assert.Equal(TrialPhase.Two, third.Trial.Phase);
        var resumed = await runner.RunAsync(third, spec, null, CancellationToken.None, Ct);
        Assert.Equal(TrialRunOutcome.Completed, resumed.Outcome);
        Assert.Equal(10, resumed.Result!.Value.GetProperty("resumedFromStep").GetInt32());

        var expected = TrialCheckpoint.Parse((await reference.Store.GetCheckpointAsync(1, Ct))!.Payload);
        var actual = TrialCheckpoint.Parse((await grid.Store.GetCheckpointAsync(third.Trial.Id, Ct))!.Payload);
        Assert.Equal(precision == "float32" ? TrialPrecision.Float32 : TrialPrecision.Float64, actual.Precision);
        Assert.Equal(expected.Phi, actual.Phi);
        Assert.Equal(expected.OptimizerBuffers, actual.OptimizerBuffers);
        Assert.Equal(9, actual.Schedule!.SwitchStep);
        Assert.Equal(
            (await MetricAsync(reference.Store, 1, TrialMetrics.OuterLoss)).Select(m => (m.Step, m.Value)),
            (await MetricAsync(grid.Store, third.Trial.Id, TrialMetrics.OuterLoss)).Select(m => (m.Step, m.Value)));
        Assert.Equal(uninterrupted.Result!.Value.GetProperty("bestOuterLoss").GetDouble(), resumed.Result.Value.GetProperty("bestOuterLoss").GetDouble());
        var phases = await MetricAsync(grid.Store, third.Trial.Id, TrialMetrics.Phase);
        Assert.All(phases, m => Assert.Equal(m.Step < 9 ? 1 : 2, m.Value));
        Assert.Equal(TrialPhase.Two, (await grid.Store.GetTrialAsync(third.Trial.Id, Ct))!.Phase);
    }

    [Fact]
    public async Task A_divergence_fails_the_trial_for_good_with_the_step_and_the_reason()
    {
        await using var grid = await SqliteGrid.CreateAsync(Ct);
        // An outer step of 1e12 on a quadratic: φ grows a trillionfold per step until the loss overflows.
        var spec = QuadraticSpecs.Single(EstimatorNames.Rgu, "{}", outerSteps: 60, checkpointInterval: 5, outer: """{"learningRate": 1e12}""");
        await grid.Store.CreateSweepAsync(spec, Ct);
        var claimed = await grid.ClaimAsync("w", LongLease, Ct);

        var run = await new TrialRunner(grid.Store).RunAsync(claimed, spec, null, CancellationToken.None, Ct);

        Assert.Equal(TrialRunOutcome.Failed, run.Outcome);
        var trial = (await grid.Store.GetTrialAsync(claimed.Trial.Id, Ct))!;
        Assert.Equal(TrialState.Failed, trial.State);
        Assert.Equal(1, trial.Attempt);
        Assert.Contains("diverged", trial.Error, StringComparison.Ordinal);
        Assert.Matches(@"\(at outer step \d+\)", trial.Error);
        Assert.Contains(trial.Error!, s => s == '∞' || s == 'N' || s == 'I');
        var step = int.Parse(System.Text.RegularExpressions.Regex.Match(trial.Error!, @"at outer step (\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(step, 1, 59);
        Assert.Equal(step, run.OuterStep);
    }

    [Theory]
    [InlineData("fg2u", """{"directions": 0}""", "estimator.options.directions", "must be an integer in [1, 65536], got 0")]
    [InlineData("fg2u", """{"directionz": 8}""", "estimator.options.directionz", "is not a known option")]
    [InlineData("trgu", "{}", "estimator.options.k", "is required")]
    [InlineData("cg", """{"damping": "lots"}""", "estimator.options.damping", "must be a number")]
    [InlineData("kfac", "{}", "estimator.name", "IKfacProblem")]
    public async Task A_bad_estimator_option_fails_the_trial_naming_the_field(string estimator, string options, string field, string problem)
    {
        await using var grid = await SqliteGrid.CreateAsync(Ct);
        var spec = QuadraticSpecs.Single(estimator, options);
        await grid.Store.CreateSweepAsync(spec, Ct);
        var claimed = await grid.ClaimAsync("w", LongLease, Ct);

        var run = await new TrialRunner(grid.Store).RunAsync(claimed, spec, null, CancellationToken.None, Ct);

        Assert.Equal(TrialRunOutcome.Failed, run.Outcome);
        var trial = (await grid.Store.GetTrialAsync(claimed.Trial.Id, Ct))!;
        Assert.Equal(TrialState.Failed, trial.State);
        Assert.Equal(1, trial.Attempt);
        Assert.Contains($"field '{field}'", trial.Error, StringComparison.Ordinal);
        Assert.Contains(problem, trial.Error, StringComparison.Ordinal);
        Assert.Null(await grid.Store.GetCheckpointAsync(trial.Id, Ct));
    }

    [Fact]
    public async Task A_bad_searched_value_names_the_field_and_the_parameter_that_set_it()
    {
        await using var grid = await SqliteGrid.CreateAsync(Ct);
        var spec = QuadraticSpecs.Single(EstimatorNames.Fg2u, """{"directions": 4}""") with
        {
            Search = new SearchSpace(0, 1, new Dictionary<string, SearchParameter>
            {
                ["estimator.directions"] = new GridParameter([QuadraticSpecs.Json("-3")]),
            }),
        };
        await grid.Store.CreateSweepAsync(spec, Ct);
        var claimed = await grid.ClaimAsync("w", LongLease, Ct);

        await new TrialRunner(grid.Store).RunAsync(claimed, spec, null, CancellationToken.None, Ct);

        var trial = (await grid.Store.GetTrialAsync(claimed.Trial.Id, Ct))!;
        Assert.Equal(TrialState.Failed, trial.State);
        Assert.Contains("field 'estimator.options.directions'", trial.Error, StringComparison.Ordinal);
        Assert.Contains("(set by search parameter 'estimator.directions' = -3)", trial.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stale_runner_whose_lease_was_taken_over_writes_nothing()
    {
        var spec = QuadraticSpecs.TwoPhase(outerSteps: 20, checkpointInterval: 5, switchStep: 9);
        await using var reference = await SqliteGrid.CreateAsync(Ct);
        await reference.Store.CreateSweepAsync(spec, Ct);
        await new TrialRunner(reference.Store).RunAsync(await reference.ClaimAsync("ref", LongLease, Ct), spec, null, CancellationToken.None, Ct);

        await using var grid = await SqliteGrid.CreateAsync(Ct);
        await grid.Store.CreateSweepAsync(spec, Ct);
        var lease = TimeSpan.FromMilliseconds(600);
        var stale = await grid.ClaimAsync("stale", lease, Ct);
        var gated = new GatedStore(grid.Store);
        gated.Close();
        // The stale worker computes but every write and heartbeat of it stalls at the gate.
        var staleRun = new TrialRunner(gated, new TrialRunnerOptions { LeaseDuration = lease }).RunAsync(stale, spec, null, CancellationToken.None, Ct);
        await gated.Blocked.WaitAsync(Ct);

        await Eventually.ReturnsAsync(() => grid.Store.ReapExpiredLeasesAsync(Ct), r => r.Requeued.Contains(stale.Trial.Id),
            $"the reaper requeues trial {stale.Trial.Id} once its {lease.TotalMilliseconds} ms lease has expired");
        var owner = await grid.ClaimAsync("owner", LongLease, Ct);
        Assert.Equal(2, owner.Lease.Attempt);
        var completed = await new TrialRunner(grid.Store).RunAsync(owner, spec, null, CancellationToken.None, Ct);
        Assert.Equal(TrialRunOutcome.Completed, completed.Outcome);
        var ownersCheckpoint = (await grid.Store.GetCheckpointAsync(owner.Trial.Id, Ct))!;

        gated.Open();
        var staleResult = await staleRun;

        Assert.Equal(TrialRunOutcome.LeaseLost, staleResult.Outcome);
        var trial = (await grid.Store.GetTrialAsync(owner.Trial.Id, Ct))!;
        Assert.Equal(TrialState.Completed, trial.State);
        Assert.Equal(2, trial.Attempt);
        var checkpoint = (await grid.Store.GetCheckpointAsync(owner.Trial.Id, Ct))!;
        Assert.Equal(2, checkpoint.Attempt);
        Assert.Equal(ownersCheckpoint.Payload, checkpoint.Payload);
        Assert.Equal(
            TrialCheckpoint.Parse((await reference.Store.GetCheckpointAsync(1, Ct))!.Payload).Phi,
            TrialCheckpoint.Parse(checkpoint.Payload).Phi);
        Assert.Equal(
            (await MetricAsync(reference.Store, 1, TrialMetrics.OuterLoss)).Select(m => (m.Step, m.Value)),
            (await MetricAsync(grid.Store, trial.Id, TrialMetrics.OuterLoss)).Select(m => (m.Step, m.Value)));
    }

    [Fact]
    public async Task A_paused_sweep_makes_the_runner_checkpoint_and_release_and_the_resumed_trial_ends_bit_identical()
    {
        // ~13 ms per step; heartbeats (which see the pause) every second.
        var spec = QuadraticSpecs.TwoPhase(outerSteps: 200, checkpointInterval: 100, switchStep: 100, innerSize: 32, unrollSteps: 80);
        var reference = ReferenceRuns.FinalAsync(spec);
        await using var grid = await SqliteGrid.CreateAsync(Ct);
        var sweep = await grid.Store.CreateSweepAsync(spec, Ct);
        var lease = TimeSpan.FromSeconds(3);
        var watched = new PauseWatchingStore(grid.Store);
        var runner = new TrialRunner(watched, new TrialRunnerOptions { LeaseDuration = lease, ThreadsPerTrial = 1 });
        var paused = 0;

        var first = await runner.RunAsync(await grid.ClaimAsync("w", lease, Ct), spec, new SyncProgress<TrialStepReport>(r =>
        {
            if (r.OuterStep == 3 && Interlocked.Exchange(ref paused, 1) == 0)
            {
                grid.Store.PauseSweepAsync(sweep.Id, CancellationToken.None).GetAwaiter().GetResult();
                // Hold the step until a heartbeat has seen the pause: on a fast machine the other 196 steps took
                // less than one heartbeat interval (the trial completed in 0.8 s).
                watched.PauseSeen.WaitAsync(TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
            }
        }), CancellationToken.None, Ct);

        Assert.Equal(TrialRunOutcome.Released, first.Outcome);
        Assert.Equal("its sweep was paused", first.Reason);
        Assert.InRange(first.OuterStep, 3, spec.OuterSteps - 1);
        var trial = (await grid.Store.GetTrialAsync(1, Ct))!;
        Assert.Equal(TrialState.Queued, trial.State);
        Assert.Equal(first.OuterStep, (await grid.Store.GetCheckpointAsync(1, Ct))!.OuterStep);
        Assert.Null(await grid.Store.ClaimAsync(new ClaimRequest("w", DeviceKind.Cpu, 1, lease), Ct));

        await grid.Store.ResumeSweepAsync(sweep.Id, Ct);
        var second = await runner.RunAsync(await grid.ClaimAsync("w", LongLease, Ct), spec, null, CancellationToken.None, Ct);
        Assert.Equal(TrialRunOutcome.Completed, second.Outcome);
        Assert.Equal((await reference).Phi, TrialCheckpoint.Parse((await grid.Store.GetCheckpointAsync(1, Ct))!.Payload).Phi);
    }

    private async Task<IReadOnlyList<MetricSample>> MetricAsync(IGridStore store, long trialId, string name) =>
        await store.GetMetricsAsync(new MetricsRequest { TrialId = trialId, Names = [name] }, Ct);

    /// <summary>Reports on the caller's thread (Progress&lt;T&gt; posts to the thread pool, too late to stop at a step).</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
