using System.Collections.Concurrent;
using Bilevel.Contracts;
using Bilevel.Grid.Running;

namespace Bilevel.Silo.Tests.Infrastructure;

/// <summary>Uninterrupted in-process runs (one thread per trial, like the test workers), cached per spec and seed index.</summary>
internal static class ReferenceRuns
{
    private static readonly ConcurrentDictionary<string, Lazy<Task<TrialCheckpoint>>> Runs = new();

    /// <summary>The final checkpoint of trial <paramref name="number"/> (1-based) of <paramref name="spec"/> run without interruption.</summary>
    public static Task<TrialCheckpoint> FinalAsync(SweepSpec spec, int number = 1)
    {
        var key = $"{System.Text.Json.JsonSerializer.Serialize(spec, ContractJson.Options)}#{number}";
        return Runs.GetOrAdd(key, _ => new Lazy<Task<TrialCheckpoint>>(() => RunAsync(spec, number))).Value;
    }

    private static async Task<TrialCheckpoint> RunAsync(SweepSpec spec, int number)
    {
        await using var grid = await SqliteGrid.CreateAsync(CancellationToken.None);
        await grid.Store.CreateSweepAsync(spec, CancellationToken.None);
        var runner = new TrialRunner(grid.Store, new TrialRunnerOptions { ThreadsPerTrial = 1 });
        for (var i = 1; ; i++)
        {
            var claimed = await grid.ClaimAsync("reference", TimeSpan.FromHours(1), CancellationToken.None);
            if (i < number)
            {
                await grid.Store.FailAsync(claimed.Lease, new Bilevel.Grid.TrialFailure("skipped by the reference run", null, false), CancellationToken.None);
                continue;
            }
            var result = await runner.RunAsync(claimed, spec, null, CancellationToken.None, CancellationToken.None);
            if (result.Outcome != TrialRunOutcome.Completed)
                throw new InvalidOperationException($"The reference run of trial {number} ended {result.Outcome}: {result.Reason}");
            var record = await grid.Store.GetCheckpointAsync(claimed.Trial.Id, CancellationToken.None);
            return TrialCheckpoint.Parse(record!.Payload);
        }
    }
}
