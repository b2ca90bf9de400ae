using System.Net;
using System.Net.Http.Json;
using Bilevel.Api.Tests.Infrastructure;
using Bilevel.Client;
using Bilevel.Contracts;
using Bilevel.Grid;

namespace Bilevel.Api.Tests;

[Collection(ApiCollection.Name)]
public sealed class TrialApiTests(ApiHost host)
{
    [Fact]
    public async Task Listing_filters_by_sweep_and_state()
    {
        var seeded = await SeededSweep.CreateAsync(host.Store);

        var completed = await host.Client.ListTrialsAsync(new TrialListRequest { SweepId = seeded.Sweep.Id, States = [TrialState.Completed] }, default);
        var endedBadly = await host.Client.ListTrialsAsync(new TrialListRequest { SweepId = seeded.Sweep.Id, States = [TrialState.Failed, TrialState.Running] }, default);
        using var viaSweep = await host.Http.GetAsync($"api/sweeps/{seeded.Sweep.Id}/trials?state=queued");
        var queued = await viaSweep.Content.ReadFromJsonAsync<PageView<TrialView>>(ContractJson.Options);

        Assert.Equal([seeded.A.Id, seeded.B.Id], completed.Items.Select(t => t.Id).Order());
        Assert.Equal(2, completed.Total);
        Assert.Equal([seeded.C.Id, seeded.D.Id], endedBadly.Items.Select(t => t.Id).Order());
        Assert.Equal(2, queued!.Total);
        Assert.All(queued.Items, t => Assert.Equal(TrialState.Queued, t.State));
        Assert.All(queued.Items, t => Assert.Equal(seeded.Sweep.Id, t.SweepId));
    }

    [Fact]
    public async Task Sorting_by_outer_step_descending_puts_the_furthest_trials_first()
    {
        var seeded = await SeededSweep.CreateAsync(host.Store);

        var page = await host.Client.ListTrialsAsync(new TrialListRequest
        {
            SweepId = seeded.Sweep.Id, SortBy = TrialSortField.OuterStep, Descending = true, PageSize = 6,
        }, default);

        Assert.Equal([10, 10, 5, 0, 0, 0], page.Items.Select(t => t.OuterStep));
        // Ties go by id, in the same direction.
        Assert.Equal([seeded.B.Id, seeded.A.Id], page.Items.Take(2).Select(t => t.Id));
        Assert.Equal(seeded.D.Id, page.Items[2].Id);
    }

    [Theory]
    [InlineData(TrialSortField.Id, false)]
    [InlineData(TrialSortField.Number, true)]
    [InlineData(TrialSortField.OuterStep, false)]
    [InlineData(TrialSortField.Attempt, true)]
    public async Task Cursor_paging_visits_every_trial_once_in_order(TrialSortField sort, bool descending)
    {
        var seeded = await SeededSweep.CreateAsync(host.Store);
        var all = await host.Client.ListTrialsAsync(new TrialListRequest { SweepId = seeded.Sweep.Id, SortBy = sort, Descending = descending, PageSize = 500 }, default);

        var seen = new List<long>();
        string? cursor = null;
        do
        {
            var page = await host.Client.ListTrialsAsync(new TrialListRequest
            {
                SweepId = seeded.Sweep.Id, SortBy = sort, Descending = descending, PageSize = 4, Cursor = cursor,
            }, default);
            Assert.Equal(6, page.Total);
            Assert.InRange(page.Items.Count, 1, 4);
            seen.AddRange(page.Items.Select(t => t.Id));
            cursor = page.NextCursor;
        }
        while (cursor is not null && seen.Count < 100);

        Assert.Equal(all.Items.Select(t => t.Id), seen);
    }

    [Fact]
    public async Task Offset_paging_and_bad_paging_parameters()
    {
        var seeded = await SeededSweep.CreateAsync(host.Store);

        var second = await host.Client.ListTrialsAsync(new TrialListRequest { SweepId = seeded.Sweep.Id, SortBy = TrialSortField.Number, PageSize = 2, Offset = 2 }, default);
        using var tooBig = await host.Http.GetAsync($"api/trials?sweepId={seeded.Sweep.Id}&pageSize=501");
        using var both = await host.Http.GetAsync($"api/trials?sweepId={seeded.Sweep.Id}&cursor=abc&offset=2");
        using var badCursor = await host.Http.GetAsync($"api/trials?sweepId={seeded.Sweep.Id}&cursor=bm90LWEtY3Vyc29y");
        using var badSort = await host.Http.GetAsync("api/trials?sort=-loss");
        using var badState = await host.Http.GetAsync("api/trials?state=queued,sleeping");
        using var unknown = await host.Http.GetAsync("api/trials?stat=queued");
        using var twice = await host.Http.GetAsync("api/trials?pageSize=1&pageSize=2");

        Assert.Equal([3, 4], second.Items.Select(t => t.Number));
        Assert.NotNull(second.NextCursor);
        await Problem.AssertAsync(tooBig, HttpStatusCode.BadRequest, "$.pageSize");
        await Problem.AssertAsync(both, HttpStatusCode.BadRequest, "$.cursor");
        await Problem.AssertAsync(badCursor, HttpStatusCode.BadRequest, "$.cursor");
        await Problem.AssertAsync(badSort, HttpStatusCode.BadRequest, "$.sort");
        await Problem.AssertAsync(badState, HttpStatusCode.BadRequest, "$.state");
        await Problem.AssertAsync(unknown, HttpStatusCode.BadRequest, "$.stat");
        await Problem.AssertAsync(twice, HttpStatusCode.BadRequest, "$.pageSize");
    }

    [Fact]
    public async Task A_trial_by_id_and_404_for_a_missing_one()
    {
        var seeded = await SeededSweep.CreateAsync(host.Store);

        var trial = await host.Client.GetTrialAsync(seeded.C.Id, default);
        var missing = await Assert.ThrowsAsync<GridApiException>(() => host.Client.GetTrialAsync(987_654_321, default));
        using var badId = await host.Http.GetAsync("api/trials/-3");

        Assert.Equal(TrialState.Failed, trial.State);
        Assert.Contains("diverged", trial.Error, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("trialId", missing.Field);
        await Problem.AssertAsync(badId, HttpStatusCode.BadRequest, "trialId");
    }

    [Fact]
    public async Task Metrics_by_name_and_step_range_and_curves()
    {
        var seeded = await SeededSweep.CreateAsync(host.Store);

        var all = await host.Client.GetMetricsAsync(new MetricsRequest { TrialId = seeded.A.Id }, default);
        var window = await host.Client.GetMetricsAsync(new MetricsRequest { TrialId = seeded.A.Id, Names = ["loss"], FromStep = 3, ToStep = 7 }, default);
        var curves = await host.Client.GetCurvesAsync(new MetricsRequest { TrialId = seeded.A.Id, FromStep = 9 }, default);
        var capped = await host.Client.GetMetricsAsync(new MetricsRequest { TrialId = seeded.A.Id, Limit = 3 }, default);
        using var backwards = await host.Http.GetAsync($"api/trials/{seeded.A.Id}/metrics?fromStep=7&toStep=3");
        using var negative = await host.Http.GetAsync($"api/trials/{seeded.A.Id}/curves?fromStep=-1");
        var missing = await Assert.ThrowsAsync<GridApiException>(() => host.Client.GetMetricsAsync(new MetricsRequest { TrialId = 987_654_321 }, default));

        Assert.Equal(20, all.Count);
        Assert.Equal([3, 4, 5, 6, 7], window.Select(m => m.Step));
        Assert.All(window, m => Assert.Equal(10.0 / m.Step, m.Value, 12));
        Assert.Equal(["accuracy", "loss"], curves.Select(c => c.Name));
        Assert.Equal([9, 10], curves[1].Steps);
        Assert.Equal([10.0 / 9, 1.0], curves[1].Values);
        Assert.Equal(3, capped.Count);
        await Problem.AssertAsync(backwards, HttpStatusCode.BadRequest, "$.toStep");
        await Problem.AssertAsync(negative, HttpStatusCode.BadRequest, "$.fromStep");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Workers_list_shows_registered_workers()
    {
        await host.Store.RecordWorkerHeartbeatAsync(new WorkerRegistration("api-test-worker-1", "node-7", 4242, DeviceKind.Cpu, 3), default);

        var workers = await host.Client.ListWorkersAsync(default);

        var worker = Assert.Single(workers, w => w.Id == "api-test-worker-1");
        Assert.Equal("node-7", worker.Host);
        Assert.Equal(3, worker.Slots);
        Assert.Equal(4242, worker.ProcessId);
        Assert.True(worker.SecondsSinceHeartbeat < 60);
    }
}
