using Bilevel.Contracts;
using Bilevel.Grid;

namespace Bilevel.Api.Tests.Infrastructure;

/// <summary>
/// A sweep of 6 trials (lr grid of 2 × 3 seeds) driven through the store as a worker would: trial A completed
/// (loss 10/step, last 1.0 at step 10), trial B completed (loss 5/step, last 0.5), trial C failed, trial D running at
/// step 5, two queued. Then paused, so that later claims in other tests never take its queued trials.
/// </summary>
internal sealed record SeededSweep(SweepRecord Sweep, TrialRecord A, TrialRecord B, TrialRecord C, TrialRecord D)
{
    public static async Task<SeededSweep> CreateAsync(IGridStore store)
    {
        var ct = CancellationToken.None;
        var sweep = await store.CreateSweepAsync(Specs.Searched(3), ct);
        var claims = new List<ClaimedTrial>();
        for (var i = 0; i < 4; i++)
        {
            var claim = await store.ClaimAsync(new ClaimRequest("api-test-worker", DeviceKind.Cuda, 1, TimeSpan.FromMinutes(10)), ct)
                ?? throw new InvalidOperationException("expected a queued cuda trial to claim");
            Assert.Equal(sweep.Id, claim.Trial.SweepId);
            claims.Add(claim);
        }
        await RunAsync(store, claims[0].Lease, scale: 10.0, complete: true);
        await RunAsync(store, claims[1].Lease, scale: 5.0, complete: true);
        Assert.Equal(LeaseWriteResult.Applied,
            await store.FailAsync(claims[2].Lease, new TrialFailure("diverged: loss is NaN", 3, Retryable: false), ct));
        await RunAsync(store, claims[3].Lease, scale: 2.0, complete: false);
        Assert.Equal(SweepTransitionOutcome.Applied, (await store.PauseSweepAsync(sweep.Id, ct)).Outcome);

        async Task<TrialRecord> Reload(ClaimedTrial c) => (await store.GetTrialAsync(c.Trial.Id, ct))!;
        return new SeededSweep((await store.GetSweepAsync(sweep.Id, ct))!,
            await Reload(claims[0]), await Reload(claims[1]), await Reload(claims[2]), await Reload(claims[3]));
    }

    private static async Task RunAsync(IGridStore store, TrialLease lease, double scale, bool complete)
    {
        var ct = CancellationToken.None;
        var first = Enumerable.Range(1, 5).SelectMany(s => new[] { new MetricSample("loss", s, scale / s), new MetricSample("accuracy", s, s / 10.0) }).ToArray();
        Assert.Equal(LeaseWriteResult.Applied, await store.SaveProgressAsync(lease, new TrialProgress(5, [1, 2, 3], first), ct));
        if (!complete)
            return;
        var last = Enumerable.Range(6, 5).SelectMany(s => new[] { new MetricSample("loss", s, scale / s), new MetricSample("accuracy", s, s / 10.0) }).ToArray();
        var result = Specs.Json($$"""{"finalLoss": {{scale / 10}}, "note": "=cmd"}""");
        Assert.Equal(LeaseWriteResult.Applied, await store.CompleteAsync(lease, new TrialCompletion(10, result, last), ct));
    }
}
