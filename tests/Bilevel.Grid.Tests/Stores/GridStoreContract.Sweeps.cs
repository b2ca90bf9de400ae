using System.Text.Json;
using System.Text.Json.Nodes;
using Bilevel.Contracts;
using Bilevel.Grid.Tests.Infrastructure;

namespace Bilevel.Grid.Tests.Stores;

public abstract partial class GridStoreContract
{
    [Fact]
    public async Task A_sweep_is_stored_with_its_spec_and_all_its_trials_queued()
    {
        var (store, _) = await NewStoreAsync();
        var spec = TestSpecs.Searched();

        var sweep = await store.CreateSweepAsync(spec, Ct);

        Assert.Equal(SweepState.Active, sweep.State);
        Assert.Equal(new TrialCounts(24, 0, 0, 0, 0), sweep.Trials);
        Assert.True(JsonNode.DeepEquals(
            JsonNode.Parse(JsonSerializer.Serialize(spec, ContractJson.Options)),
            JsonNode.Parse(JsonSerializer.Serialize(sweep.Spec, ContractJson.Options))), "the stored spec reads back as submitted");
        var trials = await store.ListTrialsAsync(new TrialListRequest { SweepId = sweep.Id, SortBy = TrialSortField.Number, PageSize = 100 }, Ct);
        Assert.Equal(Enumerable.Range(1, 24), trials.Items.Select(t => t.Number));
        Assert.All(trials.Items, t =>
        {
            Assert.Equal(TrialState.Queued, t.State);
            Assert.Equal(0, t.Attempt);
            Assert.Equal(TrialPhase.One, t.Phase);
            // Sorted: PostgreSQL's jsonb keeps its own key order.
            Assert.Equal(["depth", "lr", "optimizer", "weightDecay"], t.Params.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        });
        var expected = SweepExpander.Expand(spec, 1000);
        Assert.Equal(expected.Select(p => p.Seed), trials.Items.Select(t => t.Seed));
        Assert.All(expected.Zip(trials.Items), pair => Assert.True(
            JsonNode.DeepEquals(JsonNode.Parse(pair.First.ParamsJson), JsonNode.Parse(pair.Second.Params.GetRawText())),
            $"trial {pair.Second.Number} has the parameters of its plan"));
    }

    [Fact]
    public async Task Pausing_stops_claims_and_asks_running_trials_to_yield_and_resuming_restarts_them()
    {
        var (store, _) = await NewStoreAsync();
        var sweep = await store.CreateSweepAsync(TestSpecs.Simple(3), Ct);
        var running = await ClaimOneAsync(store, "worker-a", LongLease);

        Assert.Equal(new SweepTransitionResult(SweepTransitionOutcome.Applied, SweepState.Paused), await store.PauseSweepAsync(sweep.Id, Ct));
        Assert.Equal(new SweepTransitionResult(SweepTransitionOutcome.Unchanged, SweepState.Paused), await store.PauseSweepAsync(sweep.Id, Ct));
        Assert.Null(await ClaimAsync(store, "worker-b", LongLease));
        var heartbeat = await store.HeartbeatAsync(running.Lease, Ct);
        Assert.True(heartbeat.LeaseHeld);
        Assert.True(heartbeat.SweepPaused);
        Assert.Equal(LeaseWriteResult.Applied, await store.ReleaseAsync(running.Lease, Ct));

        Assert.Equal(new SweepTransitionResult(SweepTransitionOutcome.Applied, SweepState.Active), await store.ResumeSweepAsync(sweep.Id, Ct));
        var again = await ClaimOneAsync(store, "worker-b", LongLease);
        Assert.Equal(running.Trial.Id, again.Trial.Id);
        Assert.False((await store.HeartbeatAsync(again.Lease, Ct)).SweepPaused);
        Assert.Equal(new TrialCounts(2, 1, 0, 0, 0), (await SweepAsync(store, sweep.Id)).Trials);
    }

    [Fact]
    public async Task Cancelling_a_sweep_cancels_its_queued_and_running_trials_and_fences_their_workers()
    {
        var (store, _) = await NewStoreAsync();
        var sweep = await store.CreateSweepAsync(TestSpecs.Simple(3), Ct);
        var running = await ClaimOneAsync(store, "worker-a", LongLease);

        Assert.Equal(new SweepTransitionResult(SweepTransitionOutcome.Applied, SweepState.Cancelled), await store.CancelSweepAsync(sweep.Id, Ct));

        var cancelled = await SweepAsync(store, sweep.Id);
        Assert.Equal(SweepState.Cancelled, cancelled.State);
        Assert.NotNull(cancelled.FinishedAt);
        Assert.Equal(new TrialCounts(0, 0, 0, 0, 3), cancelled.Trials);
        Assert.False((await store.HeartbeatAsync(running.Lease, Ct)).LeaseHeld);
        Assert.Equal(LeaseWriteResult.LeaseLost, await store.SaveProgressAsync(running.Lease, new TrialProgress(1, [1], []), Ct));
        Assert.Equal(LeaseWriteResult.LeaseLost, await store.CompleteAsync(running.Lease, Done(1), Ct));
        Assert.Equal("the sweep was cancelled", (await TrialAsync(store, running.Trial.Id)).Error);
        Assert.Null(await ClaimAsync(store, "worker-b", LongLease));
        Assert.Equal(new SweepTransitionResult(SweepTransitionOutcome.NotAllowed, SweepState.Cancelled), await store.ResumeSweepAsync(sweep.Id, Ct));
        Assert.Equal(SweepTransitionOutcome.NotFound, (await store.PauseSweepAsync(sweep.Id + 1000, Ct)).Outcome);
    }

    [Fact]
    public async Task A_sweep_completes_when_its_last_trial_ends_whether_completed_or_failed()
    {
        var (store, _) = await NewStoreAsync();
        var sweep = await store.CreateSweepAsync(TestSpecs.Simple(2), Ct);
        var first = await ClaimOneAsync(store, "worker-a", LongLease);
        var second = await ClaimOneAsync(store, "worker-b", LongLease);

        Assert.Equal(LeaseWriteResult.Applied, await store.CompleteAsync(first.Lease, Done(100), Ct));
        Assert.Equal(SweepState.Active, (await SweepAsync(store, sweep.Id)).State);
        Assert.Equal(LeaseWriteResult.Applied, await store.FailAsync(second.Lease, new TrialFailure("diverged: outer loss is NaN", 17, Retryable: false), Ct));

        var done = await SweepAsync(store, sweep.Id);
        Assert.Equal(SweepState.Completed, done.State);
        Assert.NotNull(done.FinishedAt);
        Assert.Equal(new TrialCounts(0, 0, 1, 1, 0), done.Trials);
        var completed = await TrialAsync(store, first.Trial.Id);
        Assert.Equal(0.25, completed.Result!.Value.GetProperty("outerLoss").GetDouble());
        Assert.Equal(100, completed.OuterStep);
        Assert.Null(completed.LeaseOwner);
    }

    [Fact]
    public async Task Sweeps_are_listed_newest_first_with_a_state_filter_and_keyset_pages()
    {
        var (store, _) = await NewStoreAsync();
        var ids = new List<long>();
        for (var i = 0; i < 5; i++)
            ids.Add((await store.CreateSweepAsync(TestSpecs.Simple(1, name: $"s{i}"), Ct)).Id);
        await store.PauseSweepAsync(ids[1], Ct);

        var seen = new List<long>();
        string? cursor = null;
        do
        {
            var page = await store.ListSweepsAsync(new SweepListRequest { PageSize = 2, Cursor = cursor }, Ct);
            Assert.Equal(5, page.Total);
            seen.AddRange(page.Items.Select(s => s.Id));
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        Assert.Equal(ids.AsEnumerable().Reverse(), seen);
        var paused = await store.ListSweepsAsync(new SweepListRequest { State = SweepState.Paused }, Ct);
        Assert.Equal([ids[1]], paused.Items.Select(s => s.Id));
        Assert.Equal(1, paused.Items[0].Trials.Queued);
        await Assert.ThrowsAsync<ArgumentException>(() => store.ListSweepsAsync(new SweepListRequest { PageSize = 0 }, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => store.ListSweepsAsync(new SweepListRequest { Cursor = "not-a-cursor" }, Ct));
    }

    [Fact]
    public async Task Migrating_again_or_from_two_hosts_at_once_is_harmless()
    {
        var (store, database) = await NewStoreAsync();
        await store.MigrateAsync(Ct);
        await Task.WhenAll(Peer(database).MigrateAsync(Ct), Peer(database).MigrateAsync(Ct));
        var sweep = await store.CreateSweepAsync(TestSpecs.Simple(1), Ct);
        Assert.Equal(1, sweep.Trials.Queued);
    }
}
