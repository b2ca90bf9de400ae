using System.Data.Common;
using Bilevel.Contracts;
using Bilevel.Grid.Tests.Infrastructure;

namespace Bilevel.Grid.Tests.Stores;

public abstract partial class GridStoreContract
{
    [Fact]
    public async Task An_expired_lease_is_requeued_by_the_reaper_and_the_next_claim_resumes_from_the_checkpoint()
    {
        var (store, _) = await NewStoreAsync();
        await store.CreateSweepAsync(TestSpecs.Simple(2), Ct);
        var healthy = await ClaimOneAsync(store, "worker-healthy", LongLease);
        var dying = await ClaimOneAsync(store, "worker-dying", ShortLease);
        Assert.Equal(LeaseWriteResult.Applied, await store.SaveProgressAsync(dying.Lease, new TrialProgress(5, [1, 2, 3], [new("loss", 5, 0.5)]), Ct));

        var report = await ReapUntilAsync(store, dying.Trial.Id, failed: false, "the reaper requeues the trial whose 1 s lease expired");

        Assert.True(report.Elected);
        Assert.DoesNotContain(healthy.Trial.Id, report.Requeued);
        var requeued = await TrialAsync(store, dying.Trial.Id);
        Assert.Equal(TrialState.Queued, requeued.State);
        Assert.Equal(1, requeued.Failures);
        Assert.Null(requeued.LeaseOwner);
        Assert.Contains("worker-dying", requeued.Error);
        Assert.Equal(TrialState.Running, (await TrialAsync(store, healthy.Trial.Id)).State);

        var resumed = await ClaimOneAsync(store, "worker-next", LongLease);
        Assert.Equal(dying.Trial.Id, resumed.Trial.Id);
        Assert.Equal(dying.Lease.Attempt + 1, resumed.Lease.Attempt);
        Assert.Equal(5, resumed.Trial.OuterStep);
        Assert.Equal(5, resumed.Checkpoint!.OuterStep);
        Assert.Equal([1, 2, 3], resumed.Checkpoint.Payload);
        Assert.Equal(dying.Lease.Attempt, resumed.Checkpoint.Attempt);
    }

    [Fact]
    public async Task A_trial_whose_leases_expire_max_attempts_times_fails_with_the_reason()
    {
        var (store, _) = await NewStoreAsync();
        var sweep = await store.CreateSweepAsync(TestSpecs.Simple(1, maxAttempts: 2), Ct);

        var first = await ClaimOneAsync(store, "worker-a", ShortLease);
        await ReapUntilAsync(store, first.Trial.Id, failed: false, "the first expired attempt is requeued");
        var second = await ClaimOneAsync(store, "worker-b", ShortLease);
        Assert.Equal(2, second.Lease.Attempt);
        await ReapUntilAsync(store, first.Trial.Id, failed: true, "the second expired attempt fails the trial");

        var failed = await TrialAsync(store, first.Trial.Id);
        Assert.Equal(TrialState.Failed, failed.State);
        Assert.Equal(2, failed.Failures);
        Assert.Contains("worker-b", failed.Error);
        Assert.Contains("2 of 2", failed.Error);
        Assert.NotNull(failed.FinishedAt);
        Assert.Equal(SweepState.Completed, (await SweepAsync(store, sweep.Id)).State);
        Assert.Null(await ClaimAsync(store, "worker-c", LongLease));
    }

    [Fact]
    public async Task A_stale_worker_cannot_write_after_a_takeover_and_the_new_owners_work_is_intact()
    {
        var (store, database) = await NewStoreAsync();
        var stale = Peer(database);
        await store.CreateSweepAsync(TestSpecs.Simple(1), Ct);
        var old = await ClaimOneAsync(stale, "worker-old", ShortLease);
        Assert.Equal(LeaseWriteResult.Applied, await stale.SaveProgressAsync(old.Lease, new TrialProgress(10, [10], [new("loss", 10, 1.0)]), Ct));
        await ReapUntilAsync(store, old.Trial.Id, failed: false, "the old worker's lease expires and is reaped");

        var current = await ClaimOneAsync(store, "worker-new", LongLease);
        Assert.Equal(2, current.Lease.Attempt);
        Assert.Equal(LeaseWriteResult.Applied, await store.SaveProgressAsync(current.Lease, new TrialProgress(20, [20], [new("loss", 20, 0.5)]), Ct));
        Assert.Equal(LeaseWriteResult.Applied, await store.SwitchPhaseAsync(current.Lease, 15, Ct));

        Assert.False((await stale.HeartbeatAsync(old.Lease, Ct)).LeaseHeld);
        Assert.Equal(LeaseWriteResult.LeaseLost, await stale.SaveProgressAsync(old.Lease, new TrialProgress(30, [30], [new("loss", 30, 9.0)]), Ct));
        Assert.Equal(LeaseWriteResult.LeaseLost, await stale.SwitchPhaseAsync(old.Lease, 12, Ct));
        Assert.Equal(LeaseWriteResult.LeaseLost, await stale.CompleteAsync(old.Lease, Done(30, new MetricSample("loss", 31, 9.0)), Ct));
        Assert.Equal(LeaseWriteResult.LeaseLost, await stale.FailAsync(old.Lease, new TrialFailure("stale", 30, Retryable: false), Ct));
        Assert.Equal(LeaseWriteResult.LeaseLost, await stale.ReleaseAsync(old.Lease, Ct));
        // The same attempt number under another owner name is no key either.
        Assert.Equal(LeaseWriteResult.LeaseLost, await stale.SaveProgressAsync(current.Lease with { Owner = "worker-old" }, new TrialProgress(30, [30], []), Ct));

        var trial = await TrialAsync(store, current.Trial.Id);
        Assert.Equal((TrialState.Running, "worker-new", 2, 20), (trial.State, trial.LeaseOwner, trial.Attempt, trial.OuterStep));
        Assert.Equal((TrialPhase.Two, 15), (trial.Phase, trial.PhaseSwitchStep));
        var checkpoint = await store.GetCheckpointAsync(trial.Id, Ct);
        Assert.Equal((20, 2), (checkpoint!.OuterStep, checkpoint.Attempt));
        Assert.Equal([20], checkpoint.Payload);
        var metrics = await store.GetMetricsAsync(new MetricsRequest { TrialId = trial.Id }, Ct);
        Assert.Equal(new[] { new MetricSample("loss", 10, 1.0), new MetricSample("loss", 20, 0.5) }, metrics);
        Assert.Equal(LeaseWriteResult.Applied, await store.CompleteAsync(current.Lease, Done(100), Ct));
    }

    [Fact]
    public async Task A_lease_expired_by_the_database_clock_fences_writes_before_the_reaper_runs()
    {
        var (store, _) = await NewStoreAsync();
        await store.CreateSweepAsync(TestSpecs.Simple(1), Ct);
        var claimed = await ClaimOneAsync(store, "worker-a", ShortLease);

        // Switching phase is fenced but does not extend the lease: it is refused once the lease has run out.
        await Eventually.ReturnsAsync(() => store.SwitchPhaseAsync(claimed.Lease, 1, Ct), r => r == LeaseWriteResult.LeaseLost,
            "the database sees the 1 s lease expire");

        Assert.Equal(TrialState.Running, (await TrialAsync(store, claimed.Trial.Id)).State);
        Assert.False((await store.HeartbeatAsync(claimed.Lease, Ct)).LeaseHeld);
        Assert.Equal(LeaseWriteResult.LeaseLost, await store.SaveProgressAsync(claimed.Lease, new TrialProgress(3, [3], []), Ct));
        Assert.Equal(LeaseWriteResult.LeaseLost, await store.CompleteAsync(claimed.Lease, Done(3), Ct));
    }

    [Fact]
    public async Task Heartbeats_keep_a_short_lease_alive_past_its_duration()
    {
        var (store, _) = await NewStoreAsync();
        await store.CreateSweepAsync(TestSpecs.Simple(1), Ct);
        // Two seconds: a loaded machine may pause a heartbeat loop for a moment, and this test is about renewal.
        var lease = 2 * ShortLease;
        var claimed = await ClaimOneAsync(store, "worker-a", lease);
        var firstExpiry = (await TrialAsync(store, claimed.Trial.Id)).LeaseExpiresAt!.Value;

        var last = firstExpiry;
        var until = DateTime.UtcNow + 1.5 * lease;
        while (DateTime.UtcNow < until)
        {
            var beat = await store.HeartbeatAsync(claimed.Lease, Ct);
            Assert.True(beat.LeaseHeld, "a heartbeat within the lease keeps it");
            Assert.True(beat.LeaseExpiresAt >= last);
            last = beat.LeaseExpiresAt!.Value;
            Assert.DoesNotContain(claimed.Trial.Id, (await store.ReapExpiredLeasesAsync(Ct)).Requeued);
            await Task.Delay(50, Ct);
        }

        Assert.True(last - firstExpiry >= lease, $"the lease moved on by the database's clock ({firstExpiry:O} → {last:O})");
        Assert.Equal(LeaseWriteResult.Applied, await store.CompleteAsync(claimed.Lease, Done(1), Ct));
    }

    [Fact]
    public async Task Retryable_failures_requeue_until_max_attempts_and_permanent_ones_fail_at_once()
    {
        var (store, _) = await NewStoreAsync();
        await store.CreateSweepAsync(TestSpecs.Simple(1, maxAttempts: 2, name: "retry"), Ct);

        var first = await ClaimOneAsync(store, "worker-a", LongLease);
        Assert.Equal(LeaseWriteResult.Applied, await store.FailAsync(first.Lease, new TrialFailure("CUDA out of memory", 3, Retryable: true), Ct));
        var requeued = await TrialAsync(store, first.Trial.Id);
        Assert.Equal((TrialState.Queued, 1), (requeued.State, requeued.Failures));
        Assert.Equal("CUDA out of memory (at outer step 3)", requeued.Error);
        var second = await ClaimOneAsync(store, "worker-b", LongLease);
        Assert.Equal(LeaseWriteResult.Applied, await store.FailAsync(second.Lease, new TrialFailure("CUDA out of memory", 4, Retryable: true), Ct));
        var exhausted = await TrialAsync(store, first.Trial.Id);
        Assert.Equal((TrialState.Failed, 2), (exhausted.State, exhausted.Failures));

        await store.CreateSweepAsync(TestSpecs.Simple(1, maxAttempts: 3, name: "diverges"), Ct);
        var diverging = await ClaimOneAsync(store, "worker-c", LongLease);
        Assert.Equal(LeaseWriteResult.Applied, await store.FailAsync(diverging.Lease, new TrialFailure("outer loss is NaN", 42, Retryable: false), Ct));
        var diverged = await TrialAsync(store, diverging.Trial.Id);
        Assert.Equal((TrialState.Failed, 1), (diverged.State, diverged.Failures));
        Assert.Equal("outer loss is NaN (at outer step 42)", diverged.Error);
    }

    [Fact]
    public async Task Checkpoint_metrics_and_step_are_written_together_or_not_at_all()
    {
        var (store, database) = await NewStoreAsync();
        await store.CreateSweepAsync(TestSpecs.Simple(1), Ct);
        var claimed = await ClaimOneAsync(store, "worker-a", LongLease);
        Assert.Equal(LeaseWriteResult.Applied, await store.SaveProgressAsync(claimed.Lease,
            new TrialProgress(10, [10], [new("loss", 10, 1.0), new("accuracy", 10, 0.1)]), Ct));
        await InstallFailingMetricTriggerAsync(database);

        // The database refuses the second metric after the step and the checkpoint were written in the transaction.
        await Assert.ThrowsAnyAsync<DbException>(() => store.SaveProgressAsync(claimed.Lease,
            new TrialProgress(20, [20], [new("loss", 20, 0.5), new("explode", 20, 1.0)]), Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => store.SaveProgressAsync(claimed.Lease,
            new TrialProgress(20, [20], [new("loss", 20, double.NaN)]), Ct));

        Assert.Equal(10, (await TrialAsync(store, claimed.Trial.Id)).OuterStep);
        var checkpoint = await store.GetCheckpointAsync(claimed.Trial.Id, Ct);
        Assert.Equal(10, checkpoint!.OuterStep);
        Assert.Equal([10], checkpoint.Payload);
        Assert.Equal(new[] { new MetricSample("accuracy", 10, 0.1), new MetricSample("loss", 10, 1.0) },
            await store.GetMetricsAsync(new MetricsRequest { TrialId = claimed.Trial.Id }, Ct));

        Assert.Equal(LeaseWriteResult.Applied, await store.SaveProgressAsync(claimed.Lease, new TrialProgress(20, [20], [new("loss", 20, 0.5)]), Ct));
        Assert.Equal(20, (await TrialAsync(store, claimed.Trial.Id)).OuterStep);
        Assert.Equal([20], (await store.GetCheckpointAsync(claimed.Trial.Id, Ct))!.Payload);
        Assert.Equal(3, (await store.GetMetricsAsync(new MetricsRequest { TrialId = claimed.Trial.Id }, Ct)).Count);
    }
}
