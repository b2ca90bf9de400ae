using Bilevel.Contracts;
using Bilevel.Grid;
using Bilevel.Silo.Hosting;
using Bilevel.Silo.Tests.Infrastructure;
using Bilevel.Silo.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Bilevel.Silo.Tests.Hosting;

/// <summary>The worker role in process, on the embedded SQLite store: device slots, registration, graceful stop.</summary>
public sealed class WorkerHostTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("bilevel-worker-host-").FullName;
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));
    private IGridStore _store = null!;

    private CancellationToken Ct => _timeout.Token;

    private string DatabasePath => Path.Combine(_directory, "grid.db");

    public async Task InitializeAsync()
    {
        _store = new SqliteGridStore(new SqliteGridStoreOptions { DatabasePath = DatabasePath });
        await _store.MigrateAsync(Ct);
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        _timeout.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task A_cuda_slot_claims_only_cuda_trials_and_the_worker_registers_each_device()
    {
        var cpu = await _store.CreateSweepAsync(QuadraticSpecs.Tiny(3, name: "cpu"), Ct);
        var cuda = await _store.CreateSweepAsync(QuadraticSpecs.Tiny(3, name: "cuda") with { Device = new DeviceRequirement(DeviceKind.Cuda, 1) }, Ct);
        using var host = Build(new() { ["Worker:WorkerId"] = "gpu-box", ["Worker:CpuSlots"] = "0", ["Worker:CudaSlots"] = "2" });
        await host.StartAsync(Ct);

        await Eventually.ReturnsAsync(() => _store.GetSweepAsync(cuda.Id, Ct), s => s!.State == SweepState.Completed,
            "the CUDA slots complete the CUDA sweep");
        var workers = await _store.ListWorkersAsync(Ct);
        var registered = Assert.Single(workers);
        Assert.Equal(("gpu-box/cuda", DeviceKind.Cuda, 2), (registered.Id, registered.DeviceKind, registered.Slots));
        Assert.Equal(new TrialCounts(3, 0, 0, 0, 0), (await _store.GetSweepAsync(cpu.Id, Ct))!.Trials);

        await host.StopAsync(Ct);
        Assert.Empty(await _store.ListWorkersAsync(Ct));
    }

    [Fact]
    public async Task Stopping_the_host_checkpoints_and_releases_the_running_trial()
    {
        var spec = QuadraticSpecs.TwoPhase(outerSteps: 400, checkpointInterval: 50, switchStep: 200, innerSize: 32, unrollSteps: 80);
        await _store.CreateSweepAsync(spec, Ct);
        using var host = Build(new() { ["Worker:WorkerId"] = "laptop", ["Worker:CpuSlots"] = "1", ["Worker:ThreadsPerTrial"] = "1" });
        await host.StartAsync(Ct);
        await Eventually.ReturnsAsync(() => _store.GetTrialAsync(1, Ct), t => t is { State: TrialState.Running },
            "the worker claims the trial");

        await host.StopAsync(Ct);

        var trial = (await _store.GetTrialAsync(1, Ct))!;
        Assert.Equal(TrialState.Queued, trial.State);
        Assert.Equal(0, trial.Failures);
        var checkpoint = await _store.GetCheckpointAsync(1, Ct);
        Assert.True(checkpoint is null ? trial.OuterStep == 0 : checkpoint.OuterStep == trial.OuterStep && trial.OuterStep < spec.OuterSteps,
            $"the released trial's checkpoint ({checkpoint?.OuterStep}) should be where it stopped ({trial.OuterStep})");
    }

    [Fact]
    public async Task A_trial_claimed_as_the_host_stops_is_released_at_once_not_left_to_its_lease()
    {
        await _store.CreateSweepAsync(QuadraticSpecs.Tiny(1), Ct);
        StalledSpecStore? stalled = null;
        using var host = Build(new() { ["Worker:WorkerId"] = "laptop", ["Worker:CpuSlots"] = "1", ["Worker:LeaseDuration"] = "00:10:00" },
            store => stalled = new StalledSpecStore(store));
        await host.StartAsync(Ct);
        await stalled!.Reading.WaitAsync(Ct);

        await host.StopAsync(Ct);

        var trial = (await _store.GetTrialAsync(1, Ct))!;
        Assert.Equal((TrialState.Queued, 0, 0), (trial.State, trial.Failures, trial.OuterStep));
    }

    [Fact]
    public async Task Impossible_worker_settings_stop_the_host_at_start_naming_the_key()
    {
        using var host = Build(new() { ["Worker:CpuSlots"] = "0", ["Worker:CudaSlots"] = "0", ["Worker:LeaseDuration"] = "00:00:00.010" });
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => host.StartAsync(Ct));
        Assert.Contains("Worker:CpuSlots and Worker:CudaSlots are both 0", error.Message, StringComparison.Ordinal);
        Assert.Contains("Worker:LeaseDuration", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, SiloRoles.Both)]
    [InlineData("api", SiloRoles.Api)]
    [InlineData("worker", SiloRoles.Worker)]
    [InlineData("both", SiloRoles.Both)]
    [InlineData("api,worker", SiloRoles.Both)]
    [InlineData(" Worker ", SiloRoles.Worker)]
    public void Roles_parse_from_configuration(string? value, SiloRoles expected) => Assert.Equal(expected, SiloRolesParser.Parse(value));

    [Fact]
    public void An_unknown_role_is_refused_naming_the_setting() =>
        Assert.Contains("--roles", Assert.Throws<ArgumentException>(() => SiloRolesParser.Parse("scheduler")).Message, StringComparison.Ordinal);

    /// <param name="wrapStore">Decorates the store the host's services use (the test's own reads go to the plain one).</param>
    private IHost Build(Dictionary<string, string?> settings, Func<IGridStore, IGridStore>? wrapStore = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>(settings)
        {
            ["Silo:Store:Sqlite"] = DatabasePath,
            ["Silo:Reaper:Interval"] = "00:00:00.200",
            ["Worker:PollInterval"] = "00:00:00.200",
        });
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddGridStore(builder.Configuration);
        if (wrapStore is not null)
            builder.Services.AddSingleton(sp => wrapStore(new SqliteGridStore(new SqliteGridStoreOptions { DatabasePath = DatabasePath })));
        builder.Services.AddGridReaper();
        builder.Services.AddGridWorker(builder.Configuration);
        return builder.Build();
    }
}
