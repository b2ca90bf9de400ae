using Bilevel.Grid;
using Bilevel.Grid.Running;

namespace Bilevel.Silo.Hosting;

/// <summary>
/// Migrates the store's schema when the host starts, before the API listens and before workers claim: retried with
/// exponential backoff while the database is unreachable (a silo may start before its PostgreSQL).
/// </summary>
internal sealed partial class GridStoreMigrator(IGridStore store, GridStoreReadiness readiness, TimeProvider time, ILogger<GridStoreMigrator> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var reconnect = GridResilience.CreateReconnectPipeline(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(5), time,
            (e, attempt, delay) => LogDatabaseUnreachable(logger, e, attempt, delay));
        await reconnect.ExecuteAsync(async ct => await store.MigrateAsync(ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        LogMigrated(logger, store.GetType().Name);
        readiness.MarkReady();
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
