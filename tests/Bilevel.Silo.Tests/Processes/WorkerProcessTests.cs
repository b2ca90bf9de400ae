using Bilevel.Contracts;
using Bilevel.Grid;
using Bilevel.Grid.Running;
using Bilevel.Silo.Tests.Infrastructure;

namespace Bilevel.Silo.Tests.Processes;

/// <summary>
/// Reliability with real silo worker processes (<c>dotnet Bilevel.Silo.dll --roles worker</c>) on the run's
/// PostgreSQL: many workers, a worker killed mid-trial, a frozen worker whose lease was taken over, a graceful
/// shutdown, and a database restart. Every claim and completion is audited by triggers in the database.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class WorkerProcessTests(PostgresServer server) : IDisposable
{
    private static readonly TimeSpan ShortLease = TimeSpan.FromSeconds(2);

    /// <summary>About 13 ms per outer step: a few seconds per trial, a checkpoint every 5 steps, phase II from step 120.</summary>
    private static readonly SweepSpec LongTrial = QuadraticSpecs.TwoPhase(outerSteps: 240, checkpointInterval: 5, switchStep: 120, innerSize: 32, unrollSteps: 80, name: "long");

    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(3));

    private CancellationToken Ct => _timeout.Token;

    public void Dispose() => _timeout.Dispose();

    [Fact]
    public async Task Eight_workers_complete_300_trials_each_exactly_once()
    {
        await using var grid = await ProcessGrid.CreateAsync(server.ConnectionString, Ct);
        var sweep = await grid.Store.CreateSweepAsync(QuadraticSpecs.Tiny(300), Ct);
        for (var i = 0; i < 8; i++)
            grid.StartWorker($"w{i}", TimeSpan.FromSeconds(30));

        await grid.WaitAsync(() => grid.Store.GetSweepAsync(sweep.Id, Ct), s => s!.State == SweepState.Completed,
            "the sweep completes: all 300 trials done", TimeSpan.FromSeconds(120));

        var trials = await grid.TrialsAsync(sweep.Id, Ct);
        Assert.Equal(300, trials.Count);
        Assert.All(trials, t =>
        {
            Assert.Equal(TrialState.Completed, t.State);
            Assert.Equal(1, t.Attempt);
            Assert.Equal(0, t.Failures);
            Assert.Equal(4, t.OuterStep);
            Assert.True(t.Result.HasValue);
        });
        var claims = await grid.ClaimsAsync(Ct);
        var completions = await grid.CompletionsAsync(Ct);
        Assert.Equal(300, claims.Count);
        Assert.Equal(300, claims.Select(c => c.TrialId).Distinct().Count());
        Assert.Equal(300, completions.Count);
        Assert.Equal(300, completions.Select(c => c.TrialId).Distinct().Count());
        var claimedBy = claims.ToDictionary(c => c.TrialId, c => c.Owner);
        Assert.All(completions, c => Assert.Equal(claimedBy[c.TrialId], c.Owner));
        Assert.True(claims.Select(c => c.Owner).Distinct().Count() >= 2, "the trials should be spread over several workers");
        Assert.All(grid.Workers, w => Assert.False(w.HasExited, $"{w.Name} exited:\n{w.Tail()}"));
    }

    [Fact]
    public async Task A_worker_killed_mid_trial_is_replaced_and_the_trial_resumes_bit_identical()
    {
        var reference = ReferenceRuns.FinalAsync(LongTrial);
        await using var grid = await ProcessGrid.CreateAsync(server.ConnectionString, Ct);
        var sweep = await grid.Store.CreateSweepAsync(LongTrial, Ct);
        var trialId = (await grid.TrialsAsync(sweep.Id, Ct)).Single().Id;
        var doomed = grid.StartWorker("doomed", ShortLease);

        await grid.WaitAsync(() => grid.CheckpointAsync(trialId, Ct), c => c is { OuterStep: >= 20 },
            "the first worker checkpoints the trial at outer step 20 or later", TimeSpan.FromSeconds(60));
        doomed.Kill();
        await doomed.WaitForExitAsync(TimeSpan.FromSeconds(10));
        var atKill = (await grid.CheckpointAsync(trialId, Ct))!;
        Assert.InRange(atKill.OuterStep, 20, LongTrial.OuterSteps - 1);
        Assert.Equal(TrialState.Running, (await grid.Store.GetTrialAsync(trialId, Ct))!.State);

        grid.StartWorker("successor", ShortLease);
        var trial = await grid.WaitAsync(() => grid.Store.GetTrialAsync(trialId, Ct), t => t!.State is TrialState.Completed or TrialState.Failed,
            "the successor reclaims the trial after its lease expires and completes it", TimeSpan.FromSeconds(60));

        Assert.Equal(TrialState.Completed, trial!.State);
        var claims = await grid.ClaimsAsync(Ct);
        Assert.Equal((trialId, 1, "doomed/cpu"), claims[0]);
        Assert.All(claims.Skip(1), c => Assert.Equal("successor/cpu", c.Owner));
        Assert.Equal([(trialId, trial.Attempt, "successor/cpu")], await grid.CompletionsAsync(Ct));
        // The successor resumed from the dead worker's last checkpoint (or, had it lost its own lease on a loaded
        // machine and reclaimed the trial, from a later one of its own).
        var resumedFrom = trial.Result!.Value.GetProperty("resumedFromStep").GetInt32();
        if (trial.Attempt == 2)
            Assert.Equal(atKill.OuterStep, resumedFrom);
        else
            Assert.True(resumedFrom >= atKill.OuterStep, $"resumed from {resumedFrom}, before the dead worker's checkpoint at {atKill.OuterStep}");
        var final = (await grid.CheckpointAsync(trialId, Ct))!;
        Assert.Equal(LongTrial.OuterSteps, final.OuterStep);
        Assert.Equal((await reference).Phi, final.Phi);
    }

    [Fact]
    public async Task A_frozen_worker_whose_lease_was_taken_over_cannot_write()
    {
        var reference = ReferenceRuns.FinalAsync(LongTrial);
        await using var grid = await ProcessGrid.CreateAsync(server.ConnectionString, Ct);
        var sweep = await grid.Store.CreateSweepAsync(LongTrial, Ct);
        var trialId = (await grid.TrialsAsync(sweep.Id, Ct)).Single().Id;
        var stale = grid.StartWorker("stale", ShortLease);

        await grid.WaitAsync(() => grid.CheckpointAsync(trialId, Ct), c => c is { OuterStep: >= 10 },
            "the first worker checkpoints the trial at outer step 10 or later", TimeSpan.FromSeconds(60));
        await stale.SignalAsync("STOP");
        try
        {
            grid.StartWorker("owner", ShortLease);
            var completed = await grid.WaitAsync(() => grid.Store.GetTrialAsync(trialId, Ct), t => t!.State is TrialState.Completed or TrialState.Failed,
                "the new owner takes the trial over after the frozen worker's lease expires and completes it", TimeSpan.FromSeconds(60));
            Assert.Equal(TrialState.Completed, completed!.State);
        }
        finally
        {
            await stale.SignalAsync("CONT");
        }
        var before = (await grid.Store.GetCheckpointAsync(trialId, Ct))!;
        var resultBefore = (await grid.Store.GetTrialAsync(trialId, Ct))!.Result!.Value.GetRawText();

        // Thawed, the stale worker finishes its step in flight, and its heartbeat or next write finds the lease gone.
        await grid.WaitAsync(() => Task.FromResult(stale.OutputContains("lost")), seen => seen,
            "the thawed worker reports its lease lost", TimeSpan.FromSeconds(30));

        var trial = (await grid.Store.GetTrialAsync(trialId, Ct))!;
        Assert.Equal(TrialState.Completed, trial.State);
        Assert.True(trial.Attempt >= 2, $"the owner's attempt should have replaced the frozen one's, got attempt {trial.Attempt}");
        Assert.Equal(resultBefore, trial.Result!.Value.GetRawText());
        var after = (await grid.Store.GetCheckpointAsync(trialId, Ct))!;
        Assert.Equal(trial.Attempt, after.Attempt);
        Assert.Equal(before.Payload, after.Payload);
        Assert.Equal((await reference).Phi, TrialCheckpoint.Parse(after.Payload).Phi);
        Assert.Equal([(trialId, trial.Attempt, "owner/cpu")], await grid.CompletionsAsync(Ct));
        Assert.Equal([(trialId, 1, "stale/cpu")], (await grid.ClaimsAsync(Ct)).Where(c => c.Owner == "stale/cpu"));
        Assert.False(stale.HasExited, $"the stale worker should survive losing a lease:\n{stale.Tail()}");
    }

    [Fact]
    public async Task A_worker_stopped_with_SIGTERM_checkpoints_and_releases_its_trial()
    {
        var reference = ReferenceRuns.FinalAsync(LongTrial);
        await using var grid = await ProcessGrid.CreateAsync(server.ConnectionString, Ct);
        var sweep = await grid.Store.CreateSweepAsync(LongTrial, Ct);
        var trialId = (await grid.TrialsAsync(sweep.Id, Ct)).Single().Id;
        var leaving = grid.StartWorker("leaving", TimeSpan.FromSeconds(30));

        await grid.WaitAsync(() => grid.CheckpointAsync(trialId, Ct), c => c is { OuterStep: >= 10 },
            "the worker checkpoints the trial at outer step 10 or later", TimeSpan.FromSeconds(60));
        await leaving.SignalAsync("TERM");
        Assert.Equal(0, await leaving.WaitForExitAsync(TimeSpan.FromSeconds(30)));

        var released = (await grid.Store.GetTrialAsync(trialId, Ct))!;
        Assert.Equal(TrialState.Queued, released.State);
        Assert.Equal(0, released.Failures);
        Assert.Null(released.LeaseOwner);
        var checkpoint = (await grid.CheckpointAsync(trialId, Ct))!;
        Assert.Equal(released.OuterStep, checkpoint.OuterStep);
        Assert.DoesNotContain(await grid.Store.ListWorkersAsync(Ct), w => w.Id == "leaving/cpu");

        grid.StartWorker("next", TimeSpan.FromSeconds(30));
        var trial = await grid.WaitAsync(() => grid.Store.GetTrialAsync(trialId, Ct), t => t!.State is TrialState.Completed or TrialState.Failed,
            "the next worker resumes the released trial and completes it", TimeSpan.FromSeconds(60));
        Assert.Equal(TrialState.Completed, trial!.State);
        Assert.Equal(checkpoint.OuterStep, trial.Result!.Value.GetProperty("resumedFromStep").GetInt32());
        Assert.Equal((await reference).Phi, (await grid.CheckpointAsync(trialId, Ct))!.Phi);
    }

    [Fact]
    public async Task Workers_ride_out_a_PostgreSQL_restart_and_every_trial_completes_exactly_once()
    {
        await using var grid = await ProcessGrid.CreateAsync(server.ConnectionString, Ct);
        // ~60 trials of ~100 ms: the sweep is still running when the database goes away.
        var spec = QuadraticSpecs.TwoPhase(outerSteps: 12, checkpointInterval: 3, switchStep: 6, innerSize: 16, unrollSteps: 20, seeds: 60, maxAttempts: 10, name: "restart");
        var sweep = await grid.Store.CreateSweepAsync(spec, Ct);
        for (var i = 0; i < 4; i++)
            grid.StartWorker($"r{i}", TimeSpan.FromSeconds(5));

        await grid.WaitAsync(() => grid.Store.GetSweepAsync(sweep.Id, Ct), s => s!.Trials.Completed >= 8,
            "the workers complete a few trials before the restart", TimeSpan.FromSeconds(60));
        await PostgresAdmin.RestartAsync(server.ConnectionString, Ct);
        var restartedAt = (await grid.ReadAsync(ct => grid.Store.GetSweepAsync(sweep.Id, ct), Ct))!.Trials;
        Assert.True(restartedAt.Completed < 60, $"the sweep finished before the restart ({restartedAt}); the test needs longer trials");

        await grid.WaitAsync(() => grid.Store.GetSweepAsync(sweep.Id, Ct), s => s!.State == SweepState.Completed,
            "every trial completes after the restart", TimeSpan.FromSeconds(90));

        var trials = await grid.ReadAsync(ct => grid.TrialsAsync(sweep.Id, ct), Ct);
        Assert.All(trials, t => Assert.Equal(TrialState.Completed, t.State));
        var completions = await grid.ReadAsync(grid.CompletionsAsync, Ct);
        Assert.Equal(60, completions.Count);
        Assert.Equal(60, completions.Select(c => c.TrialId).Distinct().Count());
        Assert.All(grid.Workers, w => Assert.False(w.HasExited, $"{w.Name} exited:\n{w.Tail()}"));
        Assert.True(grid.Workers.Any(w => w.OutputContains("unreachable")), "at least one worker should have met the restart and retried");
        // Same arithmetic whatever the interruptions: a trial that was reclaimed ends with an uninterrupted run's φ.
        foreach (var t in trials.Where(t => t.Attempt > 1).Take(2))
            Assert.Equal((await ReferenceRuns.FinalAsync(spec, t.Number)).Phi, (await grid.ReadAsync(ct => grid.CheckpointAsync(t.Id, ct), Ct))!.Phi);
    }
}
