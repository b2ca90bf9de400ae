using Bilevel.Grid;
using Bilevel.Silo.Hosting;
using Microsoft.Extensions.Options;

namespace Bilevel.Silo.Worker;

/// <summary>
/// Every <see cref="ReaperOptions.Interval"/>, asks the store for a reaper pass: the elected silo (one at a time,
/// the store's advisory lock decides) requeues trials whose leases expired by the database's clock and fails those
/// out of attempts. Errors are logged and the next pass goes on.
/// </summary>
internal sealed partial class GridReaper(IGridStore store, GridStoreReadiness readiness, IOptions<ReaperOptions> options, TimeProvider time, ILogger<GridReaper> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.Enabled)
            return;
        if (settings.Interval <= TimeSpan.Zero)
            throw new OptionsValidationException(ReaperOptions.SectionName, typeof(ReaperOptions), [$"{ReaperOptions.SectionName}:Interval must be positive, got {settings.Interval}."]);
        try
        {
            await readiness.Ready.WaitAsync(stoppingToken).ConfigureAwait(false);
            using var timer = new PeriodicTimer(settings.Interval, time);
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    var report = await store.ReapExpiredLeasesAsync(stoppingToken).ConfigureAwait(false);
                    if (report.Requeued.Count > 0 || report.Failed.Count > 0)
                        LogReaped(logger, report.Requeued.Count, string.Join(", ", report.Requeued), report.Failed.Count, string.Join(", ", report.Failed));
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    LogPassFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
