using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Bilevel.Api.Tests.Infrastructure;
using Bilevel.Client;
using Bilevel.Contracts;

namespace Bilevel.Api.Tests;

[Collection(ApiCollection.Name)]
public sealed class SweepApiTests(ApiHost host)
{
    [Fact]
    public async Task Submitting_json_creates_the_sweep_and_its_queued_trials()
    {
        using var response = await host.Http.PostAsync("api/sweeps", new StringContent(Specs.MinimalJson, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var sweep = await response.Content.ReadFromJsonAsync<SweepView>(ContractJson.Options);
        Assert.NotNull(sweep);
        Assert.Equal($"/api/sweeps/{sweep.Id}", response.Headers.Location?.OriginalString);
        Assert.Equal("tiny", sweep.Name);
        Assert.Equal(SweepState.Active, sweep.State);
        Assert.Equal(new TrialCounts(1, 0, 0, 0, 0), sweep.Trials);
        Assert.Equal(20, sweep.Spec.OuterSteps);
    }

    [Fact]
    public async Task Submitting_yaml_by_content_type_reads_it_as_yaml()
    {
        foreach (var type in new[] { "application/yaml", "application/x-yaml", "text/yaml" })
        {
            using var response = await host.Http.PostAsync("api/sweeps", new StringContent(Specs.MinimalYaml, Encoding.UTF8, type));
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            var sweep = (await response.Content.ReadFromJsonAsync<SweepView>(ContractJson.Options))!;
            Assert.Equal("tiny yaml", sweep.Name);
            Assert.Equal(3, sweep.Trials.Queued);
            Assert.Equal("fg2u", sweep.Spec.Estimator!.Name);
        }
    }

    [Fact]
    public async Task Get_returns_the_sweep_and_404_names_the_id()
    {
        var created = await host.Client.SubmitSweepAsync(Specs.MinimalJson, SpecFormat.Json, default);

        var fetched = await host.Client.GetSweepAsync(created.Id, default);
        var missing = await Assert.ThrowsAsync<GridApiException>(() => host.Client.GetSweepAsync(987_654_321, default));
        using var badId = await host.Http.GetAsync("api/sweeps/abc");

        Assert.Equal(created.Id, fetched.Id);
        Assert.Equal(created.Spec, fetched.Spec with { }, SpecComparer.Instance);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("sweepId", missing.Field);
        Assert.Contains("987654321", missing.FieldMessage, StringComparison.Ordinal);
        await Problem.AssertAsync(badId, HttpStatusCode.BadRequest, "sweepId");
    }

    [Fact]
    public async Task Listing_pages_newest_first_by_cursor_and_filters_by_state()
    {
        var ids = new List<long>();
        for (var i = 0; i < 3; i++)
            ids.Add((await host.Client.SubmitSweepAsync(Specs.MinimalJson, SpecFormat.Json, default)).Id);
        await host.Client.PauseSweepAsync(ids[1], default);

        var seen = new List<long>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await host.Client.ListSweepsAsync(new SweepListRequest { PageSize = 2, Cursor = cursor }, default);
            Assert.True(page.Items.Count <= 2);
            Assert.True(page.Total >= 3);
            seen.AddRange(page.Items.Select(s => s.Id));
            cursor = page.NextCursor;
            pages++;
        }
        while (cursor is not null && pages < 1000);
        var paused = await host.Client.ListSweepsAsync(new SweepListRequest { State = SweepState.Paused, PageSize = 500 }, default);

        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.Equal(seen.OrderByDescending(i => i), seen);
        Assert.Superset(ids.ToHashSet(), seen.ToHashSet());
        Assert.Contains(paused.Items, s => s.Id == ids[1]);
        Assert.All(paused.Items, s => Assert.Equal(SweepState.Paused, s.State));
        Assert.DoesNotContain(paused.Items, s => s.Id == ids[0]);
    }

    [Fact]
    public async Task Pause_resume_and_cancel_move_the_sweep_and_a_forbidden_move_is_409()
    {
        var id = (await host.Client.SubmitSweepAsync(Specs.MinimalYaml, SpecFormat.Yaml, default)).Id;

        Assert.Equal(SweepState.Paused, (await host.Client.PauseSweepAsync(id, default)).State);
        Assert.Equal(SweepState.Paused, (await host.Client.PauseSweepAsync(id, default)).State);
        Assert.Equal(SweepState.Active, (await host.Client.ResumeSweepAsync(id, default)).State);
        var cancelled = await host.Client.CancelSweepAsync(id, default);
        var conflict = await Assert.ThrowsAsync<GridApiException>(() => host.Client.ResumeSweepAsync(id, default));
        var missing = await Assert.ThrowsAsync<GridApiException>(() => host.Client.PauseSweepAsync(987_654_321, default));

        Assert.Equal(SweepState.Cancelled, cancelled.State);
        Assert.Equal(3, cancelled.Trials.Cancelled);
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Equal("$.state", conflict.Field);
        Assert.Contains("cancelled", conflict.FieldMessage, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Best_trial_by_min_and_max_and_404_when_no_trial_has_the_metric()
    {
        var seeded = await SeededSweep.CreateAsync(host.Store);

        var lowest = await host.Client.GetBestTrialAsync(seeded.Sweep.Id, "loss", MetricGoal.Minimize, default);
        var highest = await host.Client.GetBestTrialAsync(seeded.Sweep.Id, "loss", MetricGoal.Maximize, default);
        var none = await host.Client.GetBestTrialAsync(seeded.Sweep.Id, "no-such-metric", MetricGoal.Minimize, default);
        using var noMetric = await host.Http.GetAsync($"api/sweeps/{seeded.Sweep.Id}/best");
        using var badGoal = await host.Http.GetAsync($"api/sweeps/{seeded.Sweep.Id}/best?metric=loss&goal=lowest");

        Assert.Equal(seeded.B.Id, lowest!.Trial.Id);
        Assert.Equal(0.5, lowest.Value, 12);
        Assert.Equal(10, lowest.Step);
        Assert.Equal(seeded.A.Id, highest!.Trial.Id);
        Assert.Equal(1.0, highest.Value, 12);
        Assert.Null(none);
        await Problem.AssertAsync(noMetric, HttpStatusCode.BadRequest, "$.metric");
        await Problem.AssertAsync(badGoal, HttpStatusCode.BadRequest, "$.goal");
    }

    [Fact]
    public async Task Csv_export_has_a_row_per_trial_with_params_results_and_final_metrics()
    {
        var seeded = await SeededSweep.CreateAsync(host.Store);

        using var response = await host.Http.GetAsync($"api/sweeps/{seeded.Sweep.Id}/export.csv");
        var csv = await response.Content.ReadAsStringAsync();
        var viaClient = await host.Client.ExportCsvAsync(seeded.Sweep.Id, default);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains($"sweep-{seeded.Sweep.Id}.csv", response.Content.Headers.ContentDisposition?.ToString(), StringComparison.Ordinal);
        Assert.Equal(csv, viaClient);
        var lines = csv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(7, lines.Length);
        Assert.Equal(
            "trial_id,number,seed,state,phase,outer_step,attempt,started_at,finished_at,param.label,param.lr,result.finalLoss,result.note,metric.accuracy,metric.loss,error",
            lines[0]);
        var header = lines[0].Split(',');
        var rows = lines.Skip(1).Select(Csv.Split).ToDictionary(r => long.Parse(r[0], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(6, rows.Count);
        string Cell(TrialLikeId trial, string column) => rows[trial.Id][Array.IndexOf(header, column)];

        Assert.Equal("completed", Cell(new(seeded.B.Id), "state"));
        Assert.Equal("0.5", Cell(new(seeded.B.Id), "metric.loss"));
        Assert.Equal("1", Cell(new(seeded.B.Id), "metric.accuracy"));
        Assert.Equal("0.5", Cell(new(seeded.B.Id), "result.finalLoss"));
        Assert.Equal("'=cmd", Cell(new(seeded.B.Id), "result.note"));
        Assert.Equal("a,b", Cell(new(seeded.B.Id), "param.label"));
        Assert.Contains(Cell(new(seeded.B.Id), "param.lr"), new[] { "0.1", "0.01" });
        Assert.Equal("10", Cell(new(seeded.B.Id), "outer_step"));
        Assert.Equal("failed", Cell(new(seeded.C.Id), "state"));
        Assert.Contains("diverged", Cell(new(seeded.C.Id), "error"), StringComparison.Ordinal);
        Assert.Equal("running", Cell(new(seeded.D.Id), "state"));
        Assert.Equal("0.4", Cell(new(seeded.D.Id), "metric.loss"));
        Assert.Equal(2, rows.Values.Count(r => r[Array.IndexOf(header, "state")] == "queued"));
        Assert.Equal(3, rows.Values.Count(r => r[Array.IndexOf(header, "param.lr")] == "0.1"));
        Assert.Equal(3, rows.Values.Count(r => r[Array.IndexOf(header, "param.lr")] == "0.01"));
    }

    private readonly record struct TrialLikeId(long Id);

    /// <summary>Specs read back from the store compare by their JSON form.</summary>
    private sealed class SpecComparer : IEqualityComparer<SweepSpec>
    {
        public static SpecComparer Instance { get; } = new();

        public bool Equals(SweepSpec? x, SweepSpec? y) =>
            JsonSerializer.Serialize(x, ContractJson.Options) == JsonSerializer.Serialize(y, ContractJson.Options);

        public int GetHashCode(SweepSpec obj) => 0;
    }
}
