using Bilevel.Contracts;
using Bilevel.Grid;

namespace Bilevel.Silo.Api;

/// <summary><c>/api/trials</c>: filtered, sorted, paged listing; one trial; its metrics and curves.</summary>
public static class TrialEndpoints
{
    private static readonly string[] ListParameters = ["sweepId", "state", "sort", "pageSize", "cursor", "offset"];
    private static readonly string[] MetricParameters = ["name", "fromStep", "toStep", "limit"];

    public static void Map(RouteGroupBuilder api)
    {
        ArgumentNullException.ThrowIfNull(api);
        var trials = api.MapGroup("/trials").WithTags("trials");

        trials.MapGet("/", (HttpRequest request, IGridStore store, CancellationToken ct) => ListAsync(request, store, fixedSweep: false, ct))
            .WithName("ListTrials")
            .WithSummary("Trials: ?sweepId=&state=queued,running&sort=outerStep|-outerStep&pageSize=&cursor=|offset=")
            .Produces<PageView<TrialView>>()
            .ProducesValidationProblem();

        trials.MapGet("/{trialId}", GetAsync)
            .WithName("GetTrial")
            .Produces<TrialView>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        trials.MapGet("/{trialId}/metrics", MetricsAsync)
            .WithName("GetTrialMetrics")
            .WithSummary("The trial's metric values by name and step: ?name=loss,accuracy&fromStep=&toStep=&limit=")
            .Produces<IReadOnlyList<MetricPointView>>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);

        trials.MapGet("/{trialId}/curves", CurvesAsync)
            .WithName("GetTrialCurves")
            .WithSummary("The trial's metrics as one curve per name (steps and values side by side), same parameters as /metrics.")
            .Produces<IReadOnlyList<MetricCurveView>>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    internal static async Task<IResult> ListAsync(HttpRequest request, IGridStore store, bool fixedSweep, CancellationToken cancellationToken)
    {
        var query = new QueryReader(request, fixedSweep ? ListParameters[1..] : ListParameters);
        var sweepId = fixedSweep ? query.RouteId("sweepId") : query.Long("sweepId");
        var (sortBy, descending) = ReadSort(query);
        var listing = new TrialListRequest
        {
            SweepId = sweepId,
            States = query.EnumList<TrialState>("state"),
            SortBy = sortBy,
            Descending = descending,
            PageSize = query.Int("pageSize", 1, PagingLimits.MaxPageSize) ?? PagingLimits.DefaultPageSize,
            Cursor = query.String("cursor", 512),
            Offset = query.Int("offset", 0, PagingLimits.MaxOffset) ?? 0,
        };
        if (query.IsValid)
            query.Add(listing.Validate());
        if (!query.IsValid)
            return query.Problem();
        if (fixedSweep && await store.GetSweepAsync(sweepId!.Value, cancellationToken).ConfigureAwait(false) is null)
            return Problems.SweepNotFound(sweepId.Value);
        try
        {
            var page = await store.ListTrialsAsync(listing, cancellationToken).ConfigureAwait(false);
            return TypedResults.Ok(page.Map(t => t.ToView()));
        }
        catch (ArgumentException e)
        {
            return Problems.Validation([new FieldError("$.cursor", e.Message)]);
        }
    }

    private static (TrialSortField Field, bool Descending) ReadSort(QueryReader query)
    {
        // "outerStep" ascending, "-outerStep" descending; the default is by id (submission order).
        return query.String("sort", 64) is { } text
            ? (ParseSort(query, text.TrimStart('-')), text.StartsWith('-'))
            : (TrialSortField.Id, false);
    }

    private static TrialSortField ParseSort(QueryReader query, string name)
    {
        foreach (var field in Enum.GetValues<TrialSortField>())
        {
            if (string.Equals(QueryReader.WireName(field), name, StringComparison.Ordinal))
                return field;
        }
        query.Add([new FieldError("$.sort", $"must be one of: {string.Join(", ", Enum.GetValues<TrialSortField>().Select(f => QueryReader.WireName(f)))}, optionally prefixed with '-' for descending; got '{(name.Length > 40 ? name[..40] + "…" : name)}'")]);
        return TrialSortField.Id;
    }

    private static async Task<IResult> GetAsync(HttpRequest request, IGridStore store, CancellationToken cancellationToken)
    {
        var query = new QueryReader(request);
        var id = query.RouteId("trialId");
        if (!query.IsValid)
            return query.Problem();
        var trial = await store.GetTrialAsync(id, cancellationToken).ConfigureAwait(false);
        return trial is null ? Problems.TrialNotFound(id) : TypedResults.Ok(trial.ToView());
    }

    private static async Task<IResult> MetricsAsync(HttpRequest request, IGridStore store, CancellationToken cancellationToken)
    {
        var (metrics, problem) = await ReadMetricsAsync(request, store, cancellationToken).ConfigureAwait(false);
        return metrics is null ? problem! : TypedResults.Ok(metrics.Select(m => m.ToView()).ToArray());
    }

    private static async Task<IResult> CurvesAsync(HttpRequest request, IGridStore store, CancellationToken cancellationToken)
    {
        var (metrics, problem) = await ReadMetricsAsync(request, store, cancellationToken).ConfigureAwait(false);
        if (metrics is null)
            return problem!;
        // The store orders by name, then step.
        var curves = metrics.GroupBy(m => m.Name, StringComparer.Ordinal)
            .Select(g => new MetricCurveView(g.Key, g.Select(m => m.Step).ToArray(), g.Select(m => m.Value).ToArray()))
            .ToArray();
        return TypedResults.Ok(curves);
    }

    private static async Task<(IReadOnlyList<MetricSample>? Metrics, IResult? Problem)> ReadMetricsAsync(
        HttpRequest request, IGridStore store, CancellationToken cancellationToken)
    {
        var query = new QueryReader(request, MetricParameters);
        var id = query.RouteId("trialId");
        var metricsRequest = new MetricsRequest
        {
            TrialId = id,
            Names = query.List("name", MetricsRequest.MaxNames, MetricLimits.MaxNameLength),
            FromStep = query.Int("fromStep", 0),
            ToStep = query.Int("toStep", 0),
            Limit = query.Int("limit", 1, MetricsRequest.MaxLimit) ?? 10_000,
        };
        if (query.IsValid)
            query.Add(metricsRequest.Validate());
        if (!query.IsValid)
            return (null, query.Problem());
        if (await store.GetTrialAsync(id, cancellationToken).ConfigureAwait(false) is null)
            return (null, Problems.TrialNotFound(id));
        return (await store.GetMetricsAsync(metricsRequest, cancellationToken).ConfigureAwait(false), null);
    }
}

/// <summary>One metric of a trial as a curve: its steps and values, index by index.</summary>
public sealed record MetricCurveView(string Name, IReadOnlyList<int> Steps, IReadOnlyList<double> Values);
