using Bilevel.Tasks.Reproduction;
using Bilevel.Tasks.Reproduction.Plots;

namespace Bilevel.Tasks.Tests.Reproduction;

/// <summary>The reproduction's report: Markdown tables, claims that say when they fail, n/a rows, and the plots it links.</summary>
public sealed class ResultsWriterTests
{
    [Fact]
    public void ReportHasTheTablesClaimsAndPlots()
    {
        string folder = Path.Join(Path.GetTempPath(), "bilevel-results-" + Guid.NewGuid().ToString("N"));
        try
        {
            Directory.CreateDirectory(folder);
            var section = new TaskSection("hpo", "toy setup") { OuterSize = 3 };
            section.MetricNames.Add("test acc");
            var ran = new RunRecord("hpo", "rgu", "rgu");
            for (int k = 0; k < 5; k++) ran.Steps.Add(new StepRecord(k, 2.0 - 0.1 * k, 0.1 * (k + 1), 0.1 * (k + 1), k % 2 == 0 ? 1.0 : null, 1_000_000, 0));
            ran.Metric("test acc", 0.5, "50.0 %");
            var refused = new RunRecord("hpo", "kfac", "kfac") { Note = "n/a: no model | here" };
            section.Runs.AddRange([ran, refused]);
            var memory = new List<MemoryPoint> { new("rgu", 5, 2_000_000, 0.1), new("rgu", 10, 4_000_000, 0.2), new("fg2u(b=4)", 5, 3_000_000, 0.1), new("fg2u(b=4)", 10, 3_000_000, 0.2) };
            var claims = new List<ClaimRecord> { Experiments.MemoryClaim(memory), new("a claim that fails", "measured", false) };
            Assert.True(claims[0].Holds);
            Assert.False(Experiments.MemoryClaim([new("rgu", 5, 2_000_000, 0), new("rgu", 10, 2_050_000, 0), new("fg2u(b=4)", 5, 3_000_000, 0), new("fg2u(b=4)", 10, 3_000_000, 0)]).Holds);

            string readme = ResultsWriter.Write(new ReproductionOptions { OutputDirectory = folder, Quick = true }, [section], memory, claims, TimeSpan.FromSeconds(3));

            string text = File.ReadAllText(readme);
            Assert.Contains("| rgu | 5 | 2 → 1.6 | 50.0 % | 1.000 |", text, StringComparison.Ordinal);
            Assert.Contains("| kfac | 0 | — | — | — |", text, StringComparison.Ordinal);
            Assert.Contains("n/a: no model \\| here", text, StringComparison.Ordinal);
            Assert.Contains("| a claim that fails | measured | **no** |", text, StringComparison.Ordinal);
            Assert.Contains("RGU ×2.00, (FG)²U ×1.00", text, StringComparison.Ordinal);
            Assert.Contains("| rgu (peak MB) | 2.0 | 4.0 |", text, StringComparison.Ordinal);
            foreach (var plot in section.Plots.Append("memory_vs_unroll.png"))
            {
                Assert.Contains($"]({plot})", text, StringComparison.Ordinal);
                var bytes = File.ReadAllBytes(Path.Join(folder, plot));
                Assert.True(bytes.AsSpan().StartsWith(PngWriter.Signature), $"{plot} is not a PNG");
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
