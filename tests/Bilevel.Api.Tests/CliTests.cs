using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Bilevel.Api.Tests.Infrastructure;
using Bilevel.Contracts;
using Bilevel.Grid;

namespace Bilevel.Api.Tests;

/// <summary>The bilevel CLI against the real host, and bilevel run on its own SQLite store.</summary>
[Collection(ApiCollection.Name)]
public sealed class CliTests(ApiHost host) : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("bilevel-cli-");

    private string[] Remote => ["--server", host.BaseAddress.ToString(), "--token", ApiHost.Token];

    public void Dispose() => _directory.Delete(recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_directory.FullName, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task Sweep_trials_and_results_commands_drive_the_api()
    {
        var spec = Write("spec.yaml", Specs.MinimalYaml);

        var submit = await CliRunner.RunAsync(["sweep", "submit", spec, "--json", .. Remote]);
        Assert.True(submit.ExitCode == 0, submit.ToString());
        var id = JsonDocument.Parse(submit.Output).RootElement.GetProperty("id").GetInt64();
        var status = await CliRunner.RunAsync(["sweep", "status", id.ToString(System.Globalization.CultureInfo.InvariantCulture), .. Remote]);
        var list = await CliRunner.RunAsync(["trials", "list", "--sweep", $"{id}", "--state", "queued", "--sort", "-number", "--page", "2", "--page-size", "2", .. Remote]);
        var listJson = await CliRunner.RunAsync(["trials", "list", "--sweep", $"{id}", "--json", .. Remote]);
        var firstTrial = JsonDocument.Parse(listJson.Output).RootElement.GetProperty("items")[0].GetProperty("id").GetInt64();
        var show = await CliRunner.RunAsync(["trials", "show", $"{firstTrial}", .. Remote]);
        var pause = await CliRunner.RunAsync(["sweep", "pause", $"{id}", .. Remote]);
        var resume = await CliRunner.RunAsync(["sweep", "resume", $"{id}", .. Remote]);
        var cancel = await CliRunner.RunAsync(["sweep", "cancel", $"{id}", .. Remote]);
        var csv = Path.Combine(_directory.FullName, "out.csv");
        var export = await CliRunner.RunAsync(["results", "export", "--sweep", $"{id}", "--out", csv, .. Remote]);

        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Contains("tiny yaml", status.Output, StringComparison.Ordinal);
        Assert.Contains("3: 3 queued", status.Output, StringComparison.Ordinal);
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Contains("page 2 of 2 (3 trials)", list.Output, StringComparison.Ordinal);
        Assert.True(show.ExitCode == 0, show.ToString());
        Assert.Contains("queued", show.Output, StringComparison.Ordinal);
        Assert.Contains("is paused", pause.Output, StringComparison.Ordinal);
        Assert.Contains("is active", resume.Output, StringComparison.Ordinal);
        Assert.Contains("is cancelled", cancel.Output, StringComparison.Ordinal);
        Assert.True(export.ExitCode == 0, export.ToString());
        var lines = File.ReadAllLines(csv);
        Assert.Equal(4, lines.Length);
        Assert.StartsWith("trial_id,number,seed,state", lines[0], StringComparison.Ordinal);
        Assert.All(lines.Skip(1), l => Assert.Contains(",cancelled,", l, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Errors_name_the_field_or_option_and_exit_non_zero()
    {
        var bad = Write("bad.json", """{"name": "x", "task": {"kind": "quadratic"}, "estimator": {"name": "nope"}, "outerSteps": -3}""");
        var id = (await host.Client.SubmitSweepAsync(Specs.MinimalJson, SpecFormat.Json, default)).Id;
        await host.Client.CancelSweepAsync(id, default);

        var invalid = await CliRunner.RunAsync(["sweep", "submit", bad, .. Remote]);
        var missingFile = await CliRunner.RunAsync(["sweep", "submit", Path.Combine(_directory.FullName, "none.yaml"), .. Remote]);
        var wrongToken = await CliRunner.RunAsync(["sweep", "status", $"{id}", "--server", host.BaseAddress.ToString(), "--token", "wrong"]);
        var conflict = await CliRunner.RunAsync(["sweep", "resume", $"{id}", .. Remote]);
        var missing = await CliRunner.RunAsync(["sweep", "status", "987654321", .. Remote]);
        var badState = await CliRunner.RunAsync(["trials", "list", "--sweep", $"{id}", "--state", "sleeping", .. Remote]);
        var badPage = await CliRunner.RunAsync(["trials", "list", "--sweep", $"{id}", "--page", "0", .. Remote]);
        var unreachable = await CliRunner.RunAsync(["sweep", "status", "1", "--server", $"http://127.0.0.1:{ClosedPort()}"]);
        var badServer = await CliRunner.RunAsync(["sweep", "status", "1", "--server", "ftp://x"]);
        var malformed = await CliRunner.RunAsync(["sweep", "status", "abc"]);

        Assert.Equal(1, invalid.ExitCode);
        Assert.Contains("$.estimator.name", invalid.Error, StringComparison.Ordinal);
        Assert.Contains("$.outerSteps", invalid.Error, StringComparison.Ordinal);
        Assert.Equal(1, missingFile.ExitCode);
        Assert.Contains("SPEC", missingFile.Error, StringComparison.Ordinal);
        Assert.Equal(1, wrongToken.ExitCode);
        Assert.Contains("401", wrongToken.Error, StringComparison.Ordinal);
        Assert.Equal(1, conflict.ExitCode);
        Assert.Contains("$.state", conflict.Error, StringComparison.Ordinal);
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("ID: there is no sweep 987654321", missing.Error, StringComparison.Ordinal);
        Assert.Equal(1, badState.ExitCode);
        Assert.Contains("--state", badState.Error, StringComparison.Ordinal);
        Assert.Equal(1, badPage.ExitCode);
        Assert.Contains("--page", badPage.Error, StringComparison.Ordinal);
        Assert.Equal(1, unreachable.ExitCode);
        Assert.Contains("--server", unreachable.Error, StringComparison.Ordinal);
        Assert.Equal(1, badServer.ExitCode);
        Assert.Contains("--server", badServer.Error, StringComparison.Ordinal);
        Assert.Equal(2, malformed.ExitCode);
    }

    [Fact]
    public async Task Run_executes_a_small_sweep_in_process_and_prints_the_results()
    {
        var spec = Write("run.yaml", """
            name: local quadratic
            task: { kind: quadratic }
            estimator: { name: rgu }
            search:
              parameters:
                outer.learningRate: { kind: grid, values: [0.1, 0.05] }
            seeds: [1, 2]
            outerSteps: 20
            checkpointInterval: 5
            """);
        var db = Path.Combine(_directory.FullName, "run.db");

        var run = await CliRunner.RunAsync("run", spec, "--db", db, "--slots", "2");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("4 completed, 0 failed", run.Output, StringComparison.Ordinal);
        Assert.Contains("outer.learningRate=0.05", run.Output, StringComparison.Ordinal);
        await using var store = new SqliteGridStore(new SqliteGridStoreOptions { DatabasePath = db });
        var sweeps = await store.ListSweepsAsync(new SweepListRequest(), default);
        var sweep = Assert.Single(sweeps.Items);
        Assert.Equal(SweepState.Completed, sweep.State);
        Assert.Equal(4, sweep.Trials.Completed);
    }

    [Fact]
    public async Task Run_rejects_a_bad_spec_naming_the_field()
    {
        var spec = Write("bad.yaml", "name: x\ntask: { kind: quadratic }\nestimator: { name: rgu }\nouterSteps: 10\nseeds: [1, two]\n");

        var run = await CliRunner.RunAsync("run", spec, "--db", Path.Combine(_directory.FullName, "bad.db"));

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("$.seeds[1]", run.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_directory.FullName, "bad.db")));
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
