using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Bilevel.Contracts;
using Bilevel.Grid;
using Bilevel.Grid.Running;
using Bilevel.Silo.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Bilevel.Silo.Tests.Benchmarks;

/// <summary>
/// The grid's scheduling cost on the run's PostgreSQL, printed (not asserted: the machine is shared and noisy):
/// claim throughput and p50/p99 claim latency with 1, 4 and 16 concurrent claimers (each its own store and
/// connection pool, as separate workers would be), and scheduling overhead as a fraction of a short trial's time.
/// The only assertions are correctness under contention: no trial is claimed twice. Output also goes to
/// claim-benchmark.txt beside the test assembly.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ClaimBenchmark(PostgresServer server, ITestOutputHelper output)
{
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(10);

    [Fact]
    public async Task Claim_throughput_latency_and_scheduling_overhead()
    {
        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"claim benchmark: PostgreSQL {await ServerVersionAsync()}, {Environment.ProcessorCount} cores, load average {LoadAverage()}");
        report.AppendLine("claimers  claims  seconds  claims/s  p50 ms  p99 ms");
        foreach (var (claimers, claims) in new[] { (1, 600), (4, 1200), (16, 1200) })
        {
            var run = await MeasureClaimsAsync(claimers, claims);
            report.AppendLine(CultureInfo.InvariantCulture,
                $"{claimers,8}  {claims,6}  {run.Seconds,7:F2}  {claims / run.Seconds,8:F0}  {Percentile(run.Latencies, 0.50),6:F2}  {Percentile(run.Latencies, 0.99),6:F2}");
        }

        foreach (var (label, spec) in new[]
        {
            ("tiny: 4 steps of RGU on 4x2, 2 checkpoints", QuadraticSpecs.Tiny(30)),
            ("short: 12 steps, 16x20, TRGU -> FG2U b=4, 4 checkpoints", QuadraticSpecs.TwoPhase(outerSteps: 12, checkpointInterval: 3, switchStep: 6, seeds: 16)),
            ("longer: 40 steps, 32x80, TRGU -> FG2U b=4, 4 checkpoints", QuadraticSpecs.TwoPhase(outerSteps: 40, checkpointInterval: 10, switchStep: 20, innerSize: 32, unrollSteps: 80, seeds: 8)),
        })
        {
            var (alone, grid) = await MeasureOverheadAsync(spec);
            report.AppendLine(CultureInfo.InvariantCulture,
                $"scheduling overhead, {label}: median {alone * 1000:F1} ms computing alone, {grid * 1000:F1} ms through the grid (claim, checkpoints with metrics, phase switch, completion): {(grid - alone) / grid:P0} of the trial's time");
        }

        var text = report.ToString();
        output.WriteLine(text);
        Console.WriteLine(text);
        await File.WriteAllTextAsync(Path.Combine(AppContext.BaseDirectory, "claim-benchmark.txt"), text);
    }

    private async Task<(double Seconds, List<double> Latencies)> MeasureClaimsAsync(int claimers, int claims)
    {
        var schema = $"bench_{claimers}_{Guid.NewGuid():N}"[..20];
        var stores = Enumerable.Range(0, claimers)
            .Select(_ => new PostgresGridStore(new PostgresGridStoreOptions { ConnectionString = server.ConnectionString, Schema = schema }))
            .ToArray();
        try
        {
            await stores[0].MigrateAsync(CancellationToken.None);
            const int warmup = 50;
            await stores[0].CreateSweepAsync(QuadraticSpecs.Tiny(claims + warmup * claimers), CancellationToken.None);
            // Warm every store's pool and the JIT before timing.
            foreach (var store in stores)
                for (var i = 0; i < warmup; i++)
                    Assert.NotNull(await store.ClaimAsync(new ClaimRequest("warmup", DeviceKind.Cpu, 1, Lease), CancellationToken.None));

            var latencies = new ConcurrentBag<double>();
            var claimed = new ConcurrentBag<long>();
            var remaining = claims;
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(stores.Select((store, index) => Task.Run(async () =>
            {
                var request = new ClaimRequest($"claimer-{index}", DeviceKind.Cpu, 1, Lease);
                while (Interlocked.Decrement(ref remaining) >= 0)
                {
                    var start = Stopwatch.GetTimestamp();
                    var trial = await store.ClaimAsync(request, CancellationToken.None);
                    latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                    claimed.Add(trial?.Trial.Id ?? throw new InvalidOperationException("the queue ran dry during the benchmark"));
                }
            })));
            var seconds = clock.Elapsed.TotalSeconds;
            Assert.Equal(claims, claimed.Count);
            Assert.Equal(claims, claimed.Distinct().Count());
            return (seconds, latencies.Order().ToList());
        }
        finally
        {
            foreach (var store in stores)
                await store.DisposeAsync();
        }
    }

    /// <summary>
    /// Median seconds per trial, computing alone (every store write a no-op) and claimed, run and written through the
    /// grid by one worker slot, interleaved trial by trial so that the machine's load drifts alike over both.
    /// </summary>
    private async Task<(double Alone, double Grid)> MeasureOverheadAsync(SweepSpec spec)
    {
        var seeds = spec.Seeds.Count;
        await using var computeGrid = await ProcessGrid.CreateAsync(server.ConnectionString, CancellationToken.None);
        await using var grid = await ProcessGrid.CreateAsync(server.ConnectionString, CancellationToken.None);
        await computeGrid.Store.CreateSweepAsync(spec, CancellationToken.None);
        await grid.Store.CreateSweepAsync(spec, CancellationToken.None);
        var options = new TrialRunnerOptions { LeaseDuration = Lease };
        var aloneRunner = new TrialRunner(new NoWriteStore(computeGrid.Store), options);
        var gridRunner = new TrialRunner(grid.Store, options);
        var alone = new List<double>();
        var through = new List<double>();
        for (var i = 0; i < seeds; i++)
        {
            var claimed = (await computeGrid.Store.ClaimAsync(new ClaimRequest("bench", DeviceKind.Cpu, 1, Lease), CancellationToken.None))!;
            var clock = Stopwatch.StartNew();
            Assert.Equal(TrialRunOutcome.Completed, (await aloneRunner.RunAsync(claimed, spec, null, CancellationToken.None, CancellationToken.None)).Outcome);
            var aloneSeconds = clock.Elapsed.TotalSeconds;

            clock.Restart();
            var next = await grid.Store.ClaimAsync(new ClaimRequest("bench", DeviceKind.Cpu, 1, Lease), CancellationToken.None);
            Assert.Equal(TrialRunOutcome.Completed, (await gridRunner.RunAsync(next!, spec, null, CancellationToken.None, CancellationToken.None)).Outcome);
            var gridSeconds = clock.Elapsed.TotalSeconds;
            // The first quarter warms the JIT and the connection pool.
            if (i >= seeds / 4)
            {
                alone.Add(aloneSeconds);
                through.Add(gridSeconds);
            }
        }
        return (Percentile([.. alone.Order()], 0.5), Percentile([.. through.Order()], 0.5));
    }

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Floor(p * sorted.Count))];

    private async Task<string> ServerVersionAsync()
    {
        await using var connection = new Npgsql.NpgsqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        return connection.PostgreSqlVersion.ToString();
    }

    private static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
