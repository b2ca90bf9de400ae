using Bilevel.Contracts;
using Bilevel.Grid;

namespace Bilevel.Silo.Api;

/// <summary><c>/api/workers</c>: the workers as they last reported themselves.</summary>
public static class WorkerEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        ArgumentNullException.ThrowIfNull(api);
        api.MapGet("/workers", async (HttpRequest request, IGridStore store, CancellationToken cancellationToken) =>
            {
                var query = new QueryReader(request);
                if (!query.IsValid)
                    return query.Problem();
                var workers = await store.ListWorkersAsync(cancellationToken).ConfigureAwait(false);
                return TypedResults.Ok(workers.Select(w => w.ToView()).ToArray());
            })
            .WithName("ListWorkers")
            .WithTags("workers")
            .WithSummary("Every registered worker: host, device slots, running trials, heartbeat age (database clock).")
            .Produces<IReadOnlyList<WorkerView>>();
    }
}
