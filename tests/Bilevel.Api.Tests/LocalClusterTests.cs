using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Bilevel.Api.Tests.Infrastructure;
using Bilevel.Client;
using Bilevel.Contracts;

namespace Bilevel.Api.Tests;

/// <summary>
/// deploy/local-cluster.sh end to end: PostgreSQL, one API silo and two workers on loopback; a small quadratic
/// sweep submitted through the HTTP API runs to completion on the workers; stop ends every process it started.
/// Needs PostgreSQL (deploy/install-prerequisites.sh); like the store tests, it fails rather than skips without it.
/// </summary>
public sealed class LocalClusterTests : IAsyncLifetime
{
    private const string Token = "cluster-token-91c2";
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(3);
    private readonly string _runDirectory = Directory.CreateTempSubdirectory("bilevel-cluster-").FullName;
    private readonly string _script = Path.Combine(RepositoryRoot(), "deploy", "local-cluster.sh");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        // Whatever the test did, leave nothing running.
        await RunScriptAsync("stop", "--run-dir", _runDirectory);
        Directory.Delete(_runDirectory, recursive: true);
    }

    [Fact]
    public async Task Start_submit_run_to_completion_and_stop()
    {
        var apiPort = FreePort();
        var siloDll = Path.Combine(AppContext.BaseDirectory, "Bilevel.Silo.dll");

        var start = await RunScriptAsync("start", "--run-dir", _runDirectory, "--workers", "2", "--api-port", $"{apiPort}",
            "--token", Token, "--silo-dll", siloDll);
        Assert.True(start.ExitCode == 0, $"start failed:\n{start.Output}\n{Logs()}");

        using var client = new GridClient(new Uri($"http://127.0.0.1:{apiPort}/"), Token);
        var sweep = await client.SubmitSweepAsync("""
            name: cluster quadratic
            task: { kind: quadratic }
            estimator: { name: rgu }
            search:
              parameters:
                outer.learningRate: { kind: grid, values: [0.1, 0.05] }
            seeds: [1, 2]
            outerSteps: 20
            checkpointInterval: 5
            """, SpecFormat.Yaml, default);
        var done = await WaitAsync(client, sweep.Id);
        var workers = await client.ListWorkersAsync(default);
        var trials = await client.ListTrialsAsync(new TrialListRequest { SweepId = sweep.Id }, default);
        var pids = Directory.GetFiles(_runDirectory, "*.pid").Select(f => int.Parse(File.ReadAllText(f).Trim(), System.Globalization.CultureInfo.InvariantCulture)).ToList();

        var stop = await RunScriptAsync("stop", "--run-dir", _runDirectory);

        Assert.True(done.State == SweepState.Completed, $"sweep ended {done.State} with {done.Trials}\n{Logs()}");
        Assert.Equal(4, done.Trials.Completed);
        Assert.All(trials.Items, t => Assert.Equal(20, t.OuterStep));
        Assert.Equal(["local-worker-1/cpu", "local-worker-2/cpu"], workers.Select(w => w.Id).Order());
        Assert.Equal(3, pids.Count);
        Assert.True(stop.ExitCode == 0, stop.Output);
        Assert.All(pids, pid => Assert.False(IsAlive(pid), $"process {pid} still runs after stop"));
        Assert.Empty(Directory.GetFiles(_runDirectory, "*.pid"));
        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await Assert.ThrowsAsync<HttpRequestException>(() => probe.GetAsync($"http://127.0.0.1:{apiPort}/health"));
    }

    private static async Task<SweepView> WaitAsync(GridClient client, long sweepId)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var sweep = await client.GetSweepAsync(sweepId, default);
            if (sweep.State is SweepState.Completed or SweepState.Cancelled || sweep.Trials.Failed > 0 || DateTime.UtcNow > deadline)
                return sweep;
            await Task.Delay(50);
        }
    }

    private string Logs() => string.Join("\n", Directory.GetFiles(_runDirectory, "*.log").Select(f =>
    {
        var text = File.ReadAllText(f);
        return $"--- {Path.GetFileName(f)}\n{(text.Length > 3000 ? text[^3000..] : text)}";
    }));

    private async Task<(int ExitCode, string Output)> RunScriptAsync(params string[] args)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(_script);
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Deadline);
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output + await error);
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OrleansBilevel.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"No OrleansBilevel.sln above {AppContext.BaseDirectory}.");
    }
}
