using Bilevel.Contracts;
using Bilevel.Grid.Tests.Infrastructure;

namespace Bilevel.Grid.Tests.Stores;

public abstract partial class GridStoreContract
{
    [Fact]
    public async Task Trials_are_filtered_sorted_and_paged_by_cursor_or_offset()
    {
        var (store, _) = await NewStoreAsync();
        var sweep = await store.CreateSweepAsync(TestSpecs.Simple(30), Ct);
        var other = await store.CreateSweepAsync(TestSpecs.Simple(4, name: "other"), Ct);
        for (var i = 0; i < 5; i++)
        {
            var claimed = await ClaimOneAsync(store, "worker-a", LongLease);
            if (i < 2)
                await store.CompleteAsync(claimed.Lease, Done(1), Ct);
        }
        TrialListRequest OfSweep(TrialListRequest r) => r with { SweepId = sweep.Id };

        var queued = await store.ListTrialsAsync(OfSweep(new() { States = [TrialState.Queued], PageSize = 100 }), Ct);
        Assert.Equal(25, queued.Total);
        Assert.All(queued.Items, t => Assert.Equal(TrialState.Queued, t.State));
        var started = await store.ListTrialsAsync(OfSweep(new() { States = [TrialState.Running, TrialState.Completed] }), Ct);
        Assert.Equal(5, started.Total);
        Assert.Equal([1, 2, 3, 4, 5], started.Items.Select(t => t.Number));
        Assert.Equal(4, (await store.ListTrialsAsync(new() { SweepId = other.Id }, Ct)).Total);
        Assert.Equal(34, (await store.ListTrialsAsync(new(), Ct)).Total);

        var numbers = new List<int>();
        string? cursor = null;
        do
        {
            var page = await store.ListTrialsAsync(OfSweep(new() { SortBy = TrialSortField.Number, Descending = true, PageSize = 7, Cursor = cursor }), Ct);
            Assert.Equal(30, page.Total);
            numbers.AddRange(page.Items.Select(t => t.Number));
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        Assert.Equal(Enumerable.Range(1, 30).Reverse(), numbers);

        var byAttempt = new List<(int Attempt, long Id)>();
        cursor = null;
        do
        {
            var page = await store.ListTrialsAsync(OfSweep(new() { SortBy = TrialSortField.Attempt, Descending = true, PageSize = 4, Cursor = cursor }), Ct);
            byAttempt.AddRange(page.Items.Select(t => (t.Attempt, t.Id)));
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        Assert.Equal(byAttempt.OrderByDescending(t => t.Attempt).ThenByDescending(t => t.Id), byAttempt);
        Assert.Equal(30, byAttempt.Select(t => t.Id).Distinct().Count());
        Assert.Equal(5, byAttempt.Count(t => t.Attempt == 1));

        var offset = await store.ListTrialsAsync(OfSweep(new() { SortBy = TrialSortField.Number, PageSize = 10, Offset = 20 }), Ct);
        Assert.Equal(Enumerable.Range(21, 10), offset.Items.Select(t => t.Number));
        Assert.Null(offset.NextCursor);

        var numberCursor = (await store.ListTrialsAsync(OfSweep(new() { SortBy = TrialSortField.Number, PageSize = 2 }), Ct)).NextCursor;
        await Assert.ThrowsAsync<ArgumentException>(() => store.ListTrialsAsync(new() { Cursor = numberCursor }, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => store.ListTrialsAsync(new() { Cursor = "bm90IGEgY3Vyc29y" }, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => store.ListTrialsAsync(new() { PageSize = PagingLimits.MaxPageSize + 1 }, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => store.ListTrialsAsync(new() { Offset = -1 }, Ct));
    }

    [Fact]
    public async Task Metrics_are_read_by_name_and_step_range_and_the_best_trial_goes_by_the_last_value()
    {
        var (store, _) = await NewStoreAsync();
        var sweep = await store.CreateSweepAsync(TestSpecs.Simple(4), Ct);
        // Trial 1 has the lowest loss early on but not at the end; trial 2 ends lowest; trial 3 ends most accurate.
        double[][] losses = [[0.1, 0.9, 0.8], [0.9, 0.5, 0.2], [0.7, 0.6, 0.5]];
        double[] accuracy = [0.5, 0.6, 0.9];
        var ids = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            var claimed = await ClaimOneAsync(store, "worker-a", LongLease);
            ids.Add(claimed.Trial.Id);
            var metrics = losses[i].Select((loss, step) => new MetricSample("loss", step * 10, loss)).ToList();
            Assert.Equal(LeaseWriteResult.Applied, await store.SaveProgressAsync(claimed.Lease, new TrialProgress(20, [1], metrics), Ct));
            Assert.Equal(LeaseWriteResult.Applied, await store.CompleteAsync(claimed.Lease, Done(20, new MetricSample("accuracy", 20, accuracy[i])), Ct));
        }
        // A running trial with a better loss does not count: only completed trials compete.
        var running = await ClaimOneAsync(store, "worker-b", LongLease);
        await store.SaveProgressAsync(running.Lease, new TrialProgress(30, [1], [new("loss", 30, 0.01)]), Ct);

        var range = await store.GetMetricsAsync(new MetricsRequest { TrialId = ids[1], Names = ["loss"], FromStep = 5, ToStep = 20 }, Ct);
        Assert.Equal(new[] { new MetricSample("loss", 10, 0.5), new MetricSample("loss", 20, 0.2) }, range);
        var all = await store.GetMetricsAsync(new MetricsRequest { TrialId = ids[1] }, Ct);
        Assert.Equal(["accuracy", "loss", "loss", "loss"], all.Select(m => m.Name));
        Assert.Single(await store.GetMetricsAsync(new MetricsRequest { TrialId = ids[1], Limit = 1 }, Ct));

        var lowest = await store.GetBestTrialAsync(sweep.Id, "loss", MetricGoal.Minimize, Ct);
        Assert.Equal((ids[1], 20, 0.2), (lowest!.Trial.Id, lowest.Step, lowest.Value));
        var mostAccurate = await store.GetBestTrialAsync(sweep.Id, "accuracy", MetricGoal.Maximize, Ct);
        Assert.Equal((ids[2], 0.9), (mostAccurate!.Trial.Id, mostAccurate.Value));
        Assert.Null(await store.GetBestTrialAsync(sweep.Id, "no-such-metric", MetricGoal.Minimize, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => store.GetMetricsAsync(new MetricsRequest { TrialId = ids[0], FromStep = 9, ToStep = 1 }, Ct));
    }

    [Fact]
    public async Task Workers_report_their_slots_running_trials_and_heartbeat_age_by_the_database_clock()
    {
        var (store, _) = await NewStoreAsync();
        await store.CreateSweepAsync(TestSpecs.Simple(2), Ct);
        var registration = new WorkerRegistration("host-1/4242", "host-1", 4242, DeviceKind.Cpu, 4);

        var first = await store.RecordWorkerHeartbeatAsync(registration, Ct);
        await ClaimOneAsync(store, registration.Id, LongLease);
        var second = await store.RecordWorkerHeartbeatAsync(registration with { Slots = 3 }, Ct);

        Assert.Equal(("host-1", 4242, DeviceKind.Cpu), (second.Host, second.ProcessId, second.DeviceKind));
        Assert.Equal(3, second.Slots);
        Assert.Equal(first.StartedAt, second.StartedAt);
        Assert.True(second.LastHeartbeat >= first.LastHeartbeat);
        var listed = Assert.Single(await store.ListWorkersAsync(Ct));
        Assert.Equal(1, listed.RunningTrials);
        Assert.InRange(listed.SinceHeartbeat, TimeSpan.Zero, TimeSpan.FromMinutes(1));

        await store.RemoveWorkerAsync(registration.Id, Ct);
        Assert.Empty(await store.ListWorkersAsync(Ct));
    }

    [Fact]
    public async Task An_idle_worker_is_woken_when_trials_become_claimable()
    {
        var (store, database) = await NewStoreAsync();
        var submitter = Peer(database);
        await using var signal = await store.ListenForWorkAsync(Ct);

        Assert.False(await signal.WaitAsync(TimeSpan.FromMilliseconds(50), Ct), "nothing was submitted yet");
        var sweep = await submitter.CreateSweepAsync(TestSpecs.Simple(1), Ct);
        Assert.True(await signal.WaitAsync(TimeSpan.FromSeconds(15), Ct), "a new sweep wakes the listener");

        var claimed = await ClaimOneAsync(store, "worker-a", LongLease);
        await submitter.PauseSweepAsync(sweep.Id, Ct);
        await store.ReleaseAsync(claimed.Lease, Ct);
        Assert.True(await signal.WaitAsync(TimeSpan.FromSeconds(15), Ct), "a released trial wakes the listener");
        await submitter.ResumeSweepAsync(sweep.Id, Ct);
        Assert.True(await signal.WaitAsync(TimeSpan.FromSeconds(15), Ct), "a resumed sweep wakes the listener");
    }
}
