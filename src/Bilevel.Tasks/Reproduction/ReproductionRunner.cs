using System.Diagnostics;

namespace Bilevel.Tasks.Reproduction;

/// <summary>What a reproduction produced.</summary>
public sealed record ReproductionResult(IReadOnlyList<TaskSection> Sections, IReadOnlyList<MemoryPoint> Memory, IReadOnlyList<ClaimRecord> Claims,
    TimeSpan Elapsed, string ReadmePath);

/// <summary>
/// Runs every task with every applicable estimator and the two-phase schedule, measures memory against unroll depth,
/// checks the papers' qualitative claims, and writes README.md with the tables and PNG plots into the output folder.
/// </summary>
public static class ReproductionRunner
{
    public static ReproductionResult Run(ReproductionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var clock = Stopwatch.StartNew();
        Directory.CreateDirectory(options.OutputDirectory);
        var log = options.Log;
        log.WriteLine($"reproduction ({(options.Quick ? "quick" : "full")}) → {Path.GetFullPath(options.OutputDirectory)}");

        var sections = new List<TaskSection>();
        foreach (var (name, experiment) in new (string, Func<ReproductionOptions, TaskSection>)[]
                 {
                     (TaskCatalog.PdeBurgers, Experiments.Pde),
                     (TaskCatalog.Hpo, Experiments.Hpo),
                     (TaskCatalog.Hypercleaning, Experiments.Hypercleaning),
                     (TaskCatalog.Condensation, Experiments.Condensation),
                 })
        {
            var started = clock.Elapsed;
            log.WriteLine($"{name}:");
            sections.Add(experiment(options));
            log.WriteLine($"  ({(clock.Elapsed - started).TotalSeconds:F0} s)");
        }
        log.WriteLine("memory vs unroll depth:");
        var memory = Experiments.Memory(options);

        var claims = sections.SelectMany(s => s.Claims).Append(Experiments.MemoryClaim(memory)).ToList();
        var readme = ResultsWriter.Write(options, sections, memory, claims, clock.Elapsed);
        log.WriteLine($"wrote {readme} ({clock.Elapsed.TotalSeconds:F0} s)");
        return new ReproductionResult(sections, memory, claims, clock.Elapsed, readme);
    }
}
