using System.Collections.Concurrent;
using Bilevel.Contracts;
using Bilevel.Grid.Tests.Infrastructure;

namespace Bilevel.Grid.Tests.Stores;

public abstract partial class GridStoreContract
{
    [Fact]
    public async Task Claims_go_by_priority_then_age_and_only_to_a_worker_with_the_device_and_slots()
    {
        var (store, _) = await NewStoreAsync();
        var low = await store.CreateSweepAsync(TestSpecs.Simple(2, priority: 0, name: "low"), Ct);
        var high = await store.CreateSweepAsync(TestSpecs.Simple(2, priority: 5, name: "high"), Ct);
        var cuda = await store.CreateSweepAsync(TestSpecs.Simple(1, priority: 9, device: DeviceKind.Cuda, name: "cuda"), Ct);
        var wide = await store.CreateSweepAsync(TestSpecs.Simple(1, priority: 9, slots: 2, name: "wide"), Ct);

        var order = new List<(long Sweep, int Number)>();
        while (await ClaimAsync(store, "cpu-worker", LongLease) is { } claimed)
        {
            Assert.Equal(1, claimed.Lease.Attempt);
            Assert.Equal(TrialState.Running, claimed.Trial.State);
            Assert.Equal("cpu-worker", claimed.Trial.LeaseOwner);
            Assert.Null(claimed.Checkpoint);
            order.Add((claimed.Trial.SweepId, claimed.Trial.Number));
        }

        Assert.Equal([(high.Id, 1), (high.Id, 2), (low.Id, 1), (low.Id, 2)], order);
        Assert.Equal(wide.Id, (await ClaimAsync(store, "big-cpu-worker", LongLease, slots: 2))!.Trial.SweepId);
        Assert.Equal(cuda.Id, (await ClaimAsync(store, "gpu-worker", LongLease, DeviceKind.Cuda))!.Trial.SweepId);
        Assert.Null(await ClaimAsync(store, "gpu-worker", LongLease, DeviceKind.Cuda));
    }

    [Fact]
    public async Task A_claimed_trial_is_invisible_to_other_claimers_until_released()
    {
        var (store, database) = await NewStoreAsync();
        var other = Peer(database);
        await store.CreateSweepAsync(TestSpecs.Simple(1), Ct);

        var claimed = await ClaimOneAsync(store, "worker-a", LongLease);
        Assert.Null(await ClaimAsync(other, "worker-b", LongLease));
        Assert.Null(await ClaimAsync(store, "worker-a", LongLease));

        Assert.Equal(LeaseWriteResult.Applied, await store.ReleaseAsync(claimed.Lease, Ct));
        var reclaimed = await ClaimOneAsync(other, "worker-b", LongLease);
        Assert.Equal(claimed.Trial.Id, reclaimed.Trial.Id);
        Assert.Equal(2, reclaimed.Lease.Attempt);
        Assert.Equal(0, reclaimed.Trial.Failures);
        Assert.Equal(LeaseWriteResult.LeaseLost, await store.ReleaseAsync(claimed.Lease, Ct));
    }

    [Fact]
    public async Task Concurrent_claimers_complete_every_trial_exactly_once()
    {
        const int workers = 8;
        const int trialsPerWorker = 300;
        var (store, database) = await NewStoreAsync();
        var sweep = await store.CreateSweepAsync(TestSpecs.Simple(workers * trialsPerWorker), Ct);
        var claims = new ConcurrentDictionary<long, int>();
        var completions = new ConcurrentDictionary<long, int>();

        // One store instance per worker: its own connections, as separate processes would have.
        await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Peer(database)).Select((peer, w) => Task.Run(async () =>
        {
            while (await ClaimAsync(peer, $"worker-{w}", LongLease) is { } claimed)
            {
                claims.AddOrUpdate(claimed.Trial.Id, 1, (_, n) => n + 1);
                var written = await peer.CompleteAsync(claimed.Lease, Done(1, new MetricSample("worker", 1, w)), Ct);
                if (written == LeaseWriteResult.Applied)
                    completions.AddOrUpdate(claimed.Trial.Id, 1, (_, n) => n + 1);
            }
        }, Ct)));

        Assert.Equal(workers * trialsPerWorker, claims.Count);
        Assert.All(claims, c => Assert.Equal(1, c.Value));
        Assert.Equal(claims.Keys.Order(), completions.Keys.Order());
        Assert.All(completions, c => Assert.Equal(1, c.Value));
        var done = await SweepAsync(store, sweep.Id);
        Assert.Equal(new TrialCounts(0, 0, workers * trialsPerWorker, 0, 0), done.Trials);
        Assert.Equal(SweepState.Completed, done.State);
    }
}
