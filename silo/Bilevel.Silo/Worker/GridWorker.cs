using Bilevel.Contracts;
using Bilevel.Grid;
using Bilevel.Grid.Running;
using Bilevel.Silo.Hosting;
using Microsoft.Extensions.Options;
using Polly;

namespace Bilevel.Silo.Worker;

/// <summary>
/// The worker role: registers this process's devices as workers (<c>{id}/cpu</c>, <c>{id}/cuda</c>), keeps their
/// registrations alive, and runs one <see cref="ClaimLoop"/> per slot. When the application stops
/// (<see cref="IHostApplicationLifetime.ApplicationStopping"/>), each running trial checkpoints after its step in
/// flight and is released to the queue; then the registrations are removed.
/// </summary>
internal sealed partial class GridWorker(
    IGridStore store,
    GridStoreReadiness readiness,
    IOptions<WorkerOptions> options,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILoggerFactory loggers) : BackgroundService
{
    private readonly ILogger _logger = loggers.CreateLogger<GridWorker>();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        // Graceful shutdown starts at ApplicationStopping, before the host stops its services.
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, lifetime.ApplicationStopping);
        var token = stopping.Token;
        try
        {
            await readiness.Ready.WaitAsync(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        var id = settings.ResolveWorkerId();
        var threads = settings.ResolveThreads();
        var reconnect = GridResilience.CreateReconnectPipeline(settings.ReconnectFirstDelay, settings.ReconnectMaxDelay, time,
            (e, attempt, delay) => LogStoreUnreachable(_logger, e, attempt, delay));
        var runner = new TrialRunner(store, new TrialRunnerOptions
        {
            LeaseDuration = settings.LeaseDuration,
            ThreadsPerTrial = threads,
            StopWriteTimeout = settings.StopWriteTimeout,
            ReconnectFirstDelay = settings.ReconnectFirstDelay,
            ReconnectMaxDelay = settings.ReconnectMaxDelay,
        }, loggers.CreateLogger<TrialRunner>(), time);
        var specs = new SweepSpecCache(store);
        var pools = new List<DevicePool>();
        if (settings.ResolveCpuSlots() > 0)
            pools.Add(new DevicePool(DeviceKind.Cpu, settings.ResolveCpuSlots()));
        if (settings.CudaSlots > 0)
            pools.Add(new DevicePool(DeviceKind.Cuda, settings.CudaSlots));
        var registrations = pools.Select(p => new WorkerRegistration(
            $"{id}/{(p.Kind == DeviceKind.Cpu ? "cpu" : "cuda")}", Environment.MachineName, Environment.ProcessId, p.Kind, p.Slots)).ToArray();

        try
        {
            foreach (var registration in registrations)
                await reconnect.ExecuteAsync(async ct => await store.RecordWorkerHeartbeatAsync(registration, ct).ConfigureAwait(false), token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            return;
        }
        LogStarted(_logger, id, string.Join(", ", pools.Select(p => $"{p.Slots} {p.Kind}")), threads, settings.LeaseDuration);

        var loops = new List<Task>();
        for (var i = 0; i < pools.Count; i++)
        {
            var pool = pools[i];
            var registration = registrations[i];
            for (var slot = 0; slot < pool.Slots; slot++)
            {
                var loop = new ClaimLoop(slot, pool, registration.Id, store, runner, specs, settings, reconnect, time, loggers.CreateLogger<ClaimLoop>());
                loops.Add(Task.Run(() => loop.RunAsync(token), CancellationToken.None));
            }
        }
        var heartbeat = HeartbeatAsync(registrations, settings.WorkerHeartbeatInterval, reconnect, token);

        await Task.WhenAll(loops).ConfigureAwait(false);
        await heartbeat.ConfigureAwait(false);

        using var removal = new CancellationTokenSource(settings.StopWriteTimeout, time);
        foreach (var registration in registrations)
        {
            try
            {
                await store.RemoveWorkerAsync(registration.Id, removal.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LogRemoveFailed(_logger, e, registration.Id);
            }
        }
        LogStopped(_logger, id);
    }

    private async Task HeartbeatAsync(IReadOnlyList<WorkerRegistration> registrations, TimeSpan interval, ResiliencePipeline reconnect, CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, time, token).ConfigureAwait(false);
                foreach (var registration in registrations)
                    await reconnect.ExecuteAsync(async ct => await store.RecordWorkerHeartbeatAsync(registration, ct).ConfigureAwait(false), token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogHeartbeatFailed(_logger, e);
            }
        }
    }
}
