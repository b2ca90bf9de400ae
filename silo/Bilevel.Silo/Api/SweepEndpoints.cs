using Bilevel.Contracts;
using Bilevel.Grid;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Microsoft.Extensions.Options;

namespace Bilevel.Silo.Api;

/// <summary>
/// <c>/api/sweeps</c>: submit (JSON or YAML), list, get, pause, resume, cancel, the best trial by a metric, the
/// sweep's trials and its CSV export.
/// </summary>
public static class SweepEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        ArgumentNullException.ThrowIfNull(api);
        var sweeps = api.MapGroup("/sweeps").WithTags("sweeps");

        sweeps.MapPost("/", SubmitAsync)
            .WithName("SubmitSweep")
            .WithSummary("Submits a sweep spec (application/json or application/yaml); its trials are queued at once.")
            .AddOpenApiOperationTransformer(DescribeSpecBodyAsync)
            .Produces<SweepView>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);

        sweeps.MapGet("/", ListAsync)
            .WithName("ListSweeps")
            .WithSummary("Sweeps newest first: ?state=active|paused|cancelled|completed&pageSize=&cursor=")
            .Produces<PageView<SweepView>>()
            .ProducesValidationProblem();

        sweeps.MapGet("/{sweepId}", GetAsync)
            .WithName("GetSweep")
            .Produces<SweepView>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        MapTransition(sweeps, "pause", "PauseSweep", (store, id, ct) => store.PauseSweepAsync(id, ct));
        MapTransition(sweeps, "resume", "ResumeSweep", (store, id, ct) => store.ResumeSweepAsync(id, ct));
        MapTransition(sweeps, "cancel", "CancelSweep", (store, id, ct) => store.CancelSweepAsync(id, ct));

        sweeps.MapGet("/{sweepId}/best", BestAsync)
            .WithName("GetBestTrial")
            .WithSummary("The completed trial whose last value of ?metric= is best (?goal=min, the default, or max).")
            .Produces<BestTrialView>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);

        sweeps.MapGet("/{sweepId}/trials", (HttpRequest request, IGridStore store, CancellationToken ct) =>
                TrialEndpoints.ListAsync(request, store, fixedSweep: true, ct))
            .WithName("ListSweepTrials")
            .WithSummary("The sweep's trials: ?state=queued,running&sort=-outerStep&pageSize=&cursor=|offset=")
            .Produces<PageView<TrialView>>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);

        sweeps.MapGet("/{sweepId}/export.csv", CsvExport.ExportAsync)
            .WithName("ExportSweepCsv")
            .WithSummary("Every trial of the sweep as CSV: state, params, result fields and final metrics.")
            .Produces<string>(StatusCodes.Status200OK, CsvExport.ContentType)
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    // The body is read by hand (JSON or YAML by Content-Type, so that an unsupported type is a problem naming the
    // header rather than a bare 415 from routing); the document says what it takes.
    private static async Task DescribeSpecBodyAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var schema = await context.GetOrCreateSchemaAsync(typeof(SweepSpec), null, cancellationToken).ConfigureAwait(false);
        operation.RequestBody = new OpenApiRequestBody
        {
            Required = true,
            Description = "A sweep spec, as JSON or as YAML (the same fields).",
            Content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal)
            {
                ["application/json"] = new() { Schema = schema },
                ["application/yaml"] = new() { Schema = schema },
            },
        };
    }

    private static async Task<IResult> SubmitAsync(
        HttpRequest request, IGridStore store, SweepSpecReader reader, IOptions<GridApiOptions> options, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var query = new QueryReader(request);
        if (!query.IsValid)
            return query.Problem();
        if (!SpecBody.TryGetFormat(request, out var format, out var problem))
            return problem!;
        var (text, bodyProblem) = await SpecBody.ReadAsync(request, options.Value.SpecLimits.MaxDocumentBytes, cancellationToken).ConfigureAwait(false);
        if (text is null)
            return bodyProblem!;
        var result = reader.Read(text, format);
        if (!result.IsValid)
        {
            var problemBody = result.ToProblem();
            return Problems.Validation(result.Errors, problemBody.Title);
        }
        SweepRecord sweep;
        try
        {
            sweep = await store.CreateSweepAsync(result.Spec, cancellationToken).ConfigureAwait(false);
        }
        catch (ArgumentException e)
        {
            // The store's own bounds (e.g. a lower trial cap than the spec limits) are the spec's fault.
            return Problems.Validation([new FieldError("$.search", e.Message)], "The sweep spec is not valid.");
        }
        GridApi.Log.SweepSubmitted(loggers.CreateLogger(typeof(SweepEndpoints)), sweep.Id, sweep.Name, sweep.Trials.Total);
        return TypedResults.Created($"/api/sweeps/{sweep.Id}", sweep.ToView());
    }

    private static async Task<IResult> ListAsync(HttpRequest request, IGridStore store, CancellationToken cancellationToken)
    {
        var query = new QueryReader(request, "state", "pageSize", "cursor");
        var listing = new SweepListRequest
        {
            State = query.Enum<SweepState>("state"),
            PageSize = query.Int("pageSize", 1, PagingLimits.MaxPageSize) ?? PagingLimits.DefaultPageSize,
            Cursor = query.String("cursor", 512),
        };
        query.Add(listing.Validate());
        if (!query.IsValid)
            return query.Problem();
        try
        {
            var page = await store.ListSweepsAsync(listing, cancellationToken).ConfigureAwait(false);
            return TypedResults.Ok(page.Map(s => s.ToView()));
        }
        catch (ArgumentException e)
        {
            return Problems.Validation([new FieldError("$.cursor", e.Message)]);
        }
    }

    private static async Task<IResult> GetAsync(HttpRequest request, IGridStore store, CancellationToken cancellationToken)
    {
        var query = new QueryReader(request);
        var id = query.RouteId("sweepId");
        if (!query.IsValid)
            return query.Problem();
        var sweep = await store.GetSweepAsync(id, cancellationToken).ConfigureAwait(false);
        return sweep is null ? Problems.SweepNotFound(id) : TypedResults.Ok(sweep.ToView());
    }

    private static void MapTransition(RouteGroupBuilder sweeps, string verb, string name, Func<IGridStore, long, CancellationToken, Task<SweepTransitionResult>> move) =>
        sweeps.MapPost($"/{{sweepId}}/{verb}", async (HttpRequest request, IGridStore store, CancellationToken cancellationToken) =>
            {
                var query = new QueryReader(request);
                var id = query.RouteId("sweepId");
                if (!query.IsValid)
                    return query.Problem();
                var result = await move(store, id, cancellationToken).ConfigureAwait(false);
                switch (result.Outcome)
                {
                    case SweepTransitionOutcome.NotFound:
                        return Problems.SweepNotFound(id);
                    case SweepTransitionOutcome.NotAllowed:
                        var state = QueryReader.WireName(result.State!.Value);
                        return Problems.Field(StatusCodes.Status409Conflict, "The sweep cannot make this move.", "$.state",
                            $"sweep {id} is {state}; a {state} sweep cannot {verb}");
                    default:
                        var sweep = await store.GetSweepAsync(id, cancellationToken).ConfigureAwait(false);
                        return sweep is null ? Problems.SweepNotFound(id) : TypedResults.Ok(sweep.ToView());
                }
            })
            .WithName(name)
            .WithSummary($"Asks the sweep to {verb}; 200 with the sweep (also when it already was so), 409 when its state forbids it.")
            .Produces<SweepView>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

    private static async Task<IResult> BestAsync(HttpRequest request, IGridStore store, CancellationToken cancellationToken)
    {
        var query = new QueryReader(request, "metric", "goal");
        var id = query.RouteId("sweepId");
        var metric = query.String("metric", MetricLimits.MaxNameLength);
        var goal = query.Enum<MetricGoal>("goal") ?? MetricGoal.Minimize;
        if (metric is null && query.IsValid)
            query.Add([new FieldError("$.metric", "is required: the name of the metric to rank trials by, e.g. ?metric=loss")]);
        if (!query.IsValid)
            return query.Problem();
        if (await store.GetSweepAsync(id, cancellationToken).ConfigureAwait(false) is null)
            return Problems.SweepNotFound(id);
        var best = await store.GetBestTrialAsync(id, metric!, goal, cancellationToken).ConfigureAwait(false);
        return best is null
            ? Problems.NotFound("$.metric", $"no completed trial of sweep {id} has recorded '{metric}'")
            : TypedResults.Ok(best.ToView());
    }
}
