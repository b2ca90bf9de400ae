using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Bilevel.Tasks.Reproduction.Plots;

namespace Bilevel.Tasks.Reproduction;

/// <summary>Writes the reproduction's README.md (Markdown tables) and its PNG plots.</summary>
internal static class ResultsWriter
{
    public static string Write(ReproductionOptions options, IReadOnlyList<TaskSection> sections, IReadOnlyList<MemoryPoint> memory,
        IReadOnlyList<ClaimRecord> claims, TimeSpan elapsed)
    {
        string folder = options.OutputDirectory;
        foreach (var section in sections) Plot(folder, section);
        const string memoryPlot = "memory_vs_unroll.png";
        var plot = new LinePlot("peak tensor memory of one estimate vs unroll depth (hpo, mlp 784-256-10)", "unroll depth T", "peak MB");
        foreach (var group in memory.GroupBy(p => p.Estimator))
            plot.Add(group.Key, group.OrderBy(p => p.UnrollSteps).Select(p => ((double)p.UnrollSteps, p.PeakBytes / 1e6)));
        plot.Save(Path.Join(folder, memoryPlot));

        var md = new StringBuilder();
        md.AppendLine("# Reproduction results").AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"`dotnet run -c Release --project tests/Bilevel.Reproduction --{(options.Quick ? " --quick" : "")}` — {(options.Quick ? "quick" : "full")} run, seed {options.Seed}, "
            + $"{Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}; {elapsed.TotalSeconds:F0} s in all. Generated; not committed.").AppendLine();
        md.AppendLine("Every estimator of a task starts from the same φ₀, sees the same inner randomness and takes the same number of outer steps. "
            + "*cos* is the mean cosine with the task's reference estimator (exact RGU; fd-central for the black-box PDE). "
            + "*CPU ms/step* is the process CPU time of the estimate alone (the machine may be shared; diagnostics excluded). "
            + "*peak MB* is the largest tensor-memory high-water mark of one estimate.").AppendLine();

        md.AppendLine("## Claims").AppendLine();
        md.AppendLine("| claim | measured | holds at our scale? |").AppendLine("| --- | --- | --- |");
        foreach (var c in claims)
            md.AppendLine(CultureInfo.InvariantCulture, $"| {c.Claim} | {c.Measured} | {(c.Holds is { } h ? h ? "yes" : "**no**" : "not measured")} |");
        md.AppendLine();

        foreach (var section in sections)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"## {section.Task}").AppendLine();
            md.AppendLine(section.Setup + ".").AppendLine();
            md.Append("| estimator | steps | first → last outer loss |");
            foreach (var m in section.MetricNames) md.Append(CultureInfo.InvariantCulture, $" {m} |");
            md.AppendLine(" cos | CPU ms/step | peak MB | note |");
            md.Append("| --- | --- | --- |");
            foreach (var _ in section.MetricNames) md.Append(" --- |");
            md.AppendLine(" --- | --- | --- | --- |");
            foreach (var run in section.Runs)
            {
                string loss = run.Ran ? $"{G(run.Steps[0].OuterLoss)} → {G(run.Steps[^1].OuterLoss)}" : "—";
                md.Append(CultureInfo.InvariantCulture, $"| {run.Label} | {run.Steps.Count} | {loss} |");
                foreach (var m in section.MetricNames)
                    md.Append(CultureInfo.InvariantCulture, $" {run.Metrics.FirstOrDefault(x => x.Name == m).Value ?? "—"} |");
                string cpu = run.Ran ? (1000 * run.Steps[^1].CpuSeconds / run.Steps.Count).ToString("F0", CultureInfo.InvariantCulture) : "—";
                string peak = run.Ran ? (run.Steps.Max(s => s.PeakBytes) / 1e6).ToString("F1", CultureInfo.InvariantCulture) : "—";
                string cos = run.MeanCosine is { } c ? c.ToString("F3", CultureInfo.InvariantCulture) : "—";
                md.AppendLine(CultureInfo.InvariantCulture, $" {cos} | {cpu} | {peak} | {Escape(run.Note)} |");
            }
            md.AppendLine();
            if (section.ConfigJson is { } json) md.AppendLine(CultureInfo.InvariantCulture, $"Task config (`{section.Task}`): `{json}`").AppendLine();
            foreach (var p in section.Plots) md.AppendLine(CultureInfo.InvariantCulture, $"![{p}]({p})");
            md.AppendLine();
        }

        md.AppendLine("## Memory vs unroll depth").AppendLine();
        var depths = memory.Select(p => p.UnrollSteps).Distinct().Order().ToArray();
        md.Append("| estimator |");
        foreach (int t in depths) md.Append(CultureInfo.InvariantCulture, $" T = {t} |");
        md.AppendLine().Append("| --- |");
        foreach (var _ in depths) md.Append(" --- |");
        md.AppendLine();
        foreach (var group in memory.GroupBy(p => p.Estimator))
        {
            md.Append(CultureInfo.InvariantCulture, $"| {group.Key} (peak MB) |");
            foreach (int t in depths)
                md.Append(CultureInfo.InvariantCulture, $" {(group.FirstOrDefault(p => p.UnrollSteps == t) is { } p ? (p.PeakBytes / 1e6).ToString("F1", CultureInfo.InvariantCulture) : "—")} |");
            md.AppendLine();
        }
        md.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"![{memoryPlot}]({memoryPlot})");

        string path = Path.Join(folder, "README.md");
        File.WriteAllText(path, md.ToString());
        return path;
    }

    private static void Plot(string folder, TaskSection section)
    {
        string name = section.Task.Replace('-', '_');
        bool logLoss = section.Task == TaskCatalog.PdeBurgers;
        var runs = section.Runs.Where(r => r.Ran).ToArray();

        var loss = new LinePlot($"{section.Task}: outer loss", "outer step", "outer loss", logY: logLoss);
        foreach (var r in runs) loss.Add(r.Label, r.Steps.Select(s => ((double)s.Step, s.OuterLoss)));
        Save(folder, $"{name}_loss.png", loss, section);

        var time = new LinePlot($"{section.Task}: outer loss vs estimate CPU time", "CPU seconds in estimates", "outer loss", logY: logLoss);
        foreach (var r in runs) time.Add(r.Label, r.Steps.Select(s => (s.CpuSeconds, s.OuterLoss)));
        Save(folder, $"{name}_loss_time.png", time, section);

        var cosine = new LinePlot($"{section.Task}: cosine with the reference hypergradient", "outer step", "cosine");
        foreach (var r in runs.Where(r => r.Steps.Any(s => s.Cosine is not null)))
            cosine.Add(r.Label, r.Steps.Where(s => s.Cosine is not null).Select(s => ((double)s.Step, s.Cosine!.Value)));
        Save(folder, $"{name}_cosine.png", cosine, section);
    }

    private static void Save(string folder, string file, LinePlot plot, TaskSection section)
    {
        plot.Save(Path.Join(folder, file));
        section.Plots.Add(file);
    }

    private static string G(double v) => v.ToString("G4", CultureInfo.InvariantCulture);

    private static string Escape(string? note) => note is null ? "" : note.Replace("|", "\\|", StringComparison.Ordinal).ReplaceLineEndings(" ");
}
