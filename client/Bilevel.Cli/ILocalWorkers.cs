using Bilevel.Grid;
using Bilevel.Silo.Hosting;
using Bilevel.Silo.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Bilevel.Cli;

/// <summary>
/// The seam <c>bilevel run</c> runs trials through: worker slots in this process that claim trials from a store,
/// run them (checkpointing, metrics) and write them back, exactly as a silo's workers do. <c>bilevel run</c> shows
/// progress by reading the store, so this is all it needs from the runner.
/// </summary>
public interface ILocalWorkers
{
    /// <summary>
    /// Runs <paramref name="slots"/> CPU worker slots against <paramref name="store"/> until
    /// <paramref name="cancellationToken"/> is cancelled, then stops them gracefully (checkpoint, release) and returns.
    /// </summary>
    Task RunAsync(IGridStore store, int slots, CancellationToken cancellationToken);
}

/// <summary>
/// The silo's worker role (its claim loops, trial runner, heartbeats and reaper: AddGridStore, AddGridWorker,
/// AddGridReaper) in a generic host inside this process, on the store <c>bilevel run</c> created. Its logs go nowhere
/// but warnings to stderr, so they do not tear the progress bars; failures show in the results table.
/// </summary>
public sealed class LocalWorkers : ILocalWorkers
{
    public static ILocalWorkers Default { get; } = new LocalWorkers();

    public async Task RunAsync(IGridStore store, int slots, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Worker:CpuSlots"] = slots.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Worker:ThreadsPerTrial"] = Math.Max(1, Environment.ProcessorCount / slots).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Worker:WorkerId"] = $"bilevel-run-{Environment.ProcessId}",
            ["Worker:PollInterval"] = "00:00:01",
            // AddGridStore wants a store setting; the store registered below replaces the one it would make.
            ["Silo:Store:Sqlite"] = Path.Combine(Path.GetTempPath(), "bilevel-run-unused.db"),
        });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddGridStore(builder.Configuration);
        builder.Services.AddSingleton(store);
        builder.Services.AddGridReaper();
        builder.Services.AddGridWorker(builder.Configuration);
        using var host = builder.Build();
        await host.StartAsync(cancellationToken).ConfigureAwait(false);
        // Until the caller is done, or the host stops by itself (its console lifetime heard SIGTERM).
        using var done = CancellationTokenSource.CreateLinkedTokenSource(
            cancellationToken, host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping);
        try
        {
            await Task.Delay(Timeout.Infinite, done.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (done.IsCancellationRequested)
        {
        }
        // Running trials checkpoint and go back to the queue (the worker's graceful shutdown).
        await host.StopAsync(CancellationToken.None).ConfigureAwait(false);
    }
}
