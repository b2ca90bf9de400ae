using System.Globalization;

namespace Bilevel.Benchmarks.Estimators;

/// <summary>One estimator on one task: medians of the timed calls, memory, and the hypergradient's relative error.</summary>
internal sealed record Row(string Task, string Estimator, double Ours, double OursCpu, double? Torch, double? TorchCpu, long PeakBytes,
    double? OursRssMib, double? TorchRssMib, double? RelativeError, int Reps, string? Error);

/// <summary>
/// One (FG)²U thread configuration on one task; <paramref name="Core"/>: the core a one-thread run was pinned to;
/// <paramref name="OtherCoreBusy"/>: timed while the same call ran pinned to the other core.
/// </summary>
internal sealed record Scaling(string Task, string Variant, int Directions, double Seconds, double CpuSeconds, int Reps, int? Core = null, bool OtherCoreBusy = false);

/// <summary>The benchmark's tables: time and memory per estimator, and (FG)²U's thread scaling.</summary>
internal static class ResultsTable
{
    public static void Print(List<Row> rows, int threads, TextWriter output)
    {
        output.WriteLine();
        output.WriteLine($"Time per hypergradient (median ms) and peak memory (MiB), float32, {threads} threads; ratio = ours / PyTorch (target ≤ 0.7, goal 0.5)");
        output.WriteLine($"{"task",-14} {"estimator",-13} {"ours ms",9} {"torch ms",9} {"time",5} {"cpu",5} | {"ours RSS",8} {"torch RSS",9} {"RSS",5} | {"ours peak",9} {"peak",5} | {"rel.err",7} {"reps",4}");
        foreach (var r in rows)
        {
            string torchMs = r.Torch is { } t ? (t * 1e3).ToString("F1", CultureInfo.InvariantCulture) : "n/a";
            string timeRatio = r.Torch is { } t2 ? (r.Ours / t2).ToString("F2", CultureInfo.InvariantCulture) : "n/a";
            string cpuRatio = r.TorchCpu is { } c && c > 0 ? (r.OursCpu / c).ToString("F2", CultureInfo.InvariantCulture) : "n/a";
            double peakMib = r.PeakBytes / 1048576.0;
            string rssRatio = r.OursRssMib is { } o && r.TorchRssMib is { } p && p > 0 ? (o / p).ToString("F2", CultureInfo.InvariantCulture) : "n/a";
            string peakRatio = r.TorchRssMib is { } p2 && p2 > 0 ? (peakMib / p2).ToString("F2", CultureInfo.InvariantCulture) : "n/a";
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Task,-14} {r.Estimator,-13} {r.Ours * 1e3,9:F1} {torchMs,9} {timeRatio,5} {cpuRatio,5} | {Format(r.OursRssMib),8} {Format(r.TorchRssMib),9} {rssRatio,5} | {peakMib,9:F1} {peakRatio,5} | {(r.RelativeError is { } e ? e.ToString("E1", CultureInfo.InvariantCulture) : "-"),7} {r.Reps,4}"));
            if (r.Error is not null) output.WriteLine($"    PyTorch failed: {r.Error}");
        }
        output.WriteLine("time, cpu: ours/PyTorch of the median wall time and of the median process CPU time per call. RSS: peak RSS growth over one call");
        output.WriteLine("(VmHWM after clear_refs), the median over 3 calls after the warm-up, idle memory given back first (ours: pool released; PyTorch: glibc trimmed, large blocks unmapped); ours peak:");
        output.WriteLine("CostReport.PeakBytes, the tensor high-water mark, and its ratio to PyTorch's RSS. rel.err: ‖ours − torch‖/‖torch‖ of the hypergradient,");
        output.WriteLine("PyTorch's computed in float64 on the same inputs.");
    }

    public static void PrintScaling(List<Scaling> rows, TextWriter output)
    {
        if (rows.Count == 0) return;
        output.WriteLine();
        output.WriteLine($"(FG)²U(b = {Variant.Directions}) on 1 vs 2 threads, each in its own warm worker, calls interleaved (median ms; speed-up over the 1-thread run; target ≥ 1.7)");
        foreach (var group in rows.GroupBy(r => r.Task))
        {
            double single = group.First().Seconds;
            foreach (var r in group)
            {
                string speedUp = r.Directions == Variant.Directions ? $"×{single / r.Seconds:F2}" : "     ";
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{r.Task,-14} {r.Variant,-56} {r.Seconds * 1e3,9:F1} ms  {speedUp}  cpu {r.CpuSeconds * 1e3,9:F1} ms  ({r.Reps} reps)"));
            }
            PrintCostSplit(group.ToList(), output);
            PrintCoreSpeeds(group.ToList(), output);
        }
    }

    /// <summary>
    /// From one thread on each core (t₀, t₁) and unpinned (t): the speed-up two threads can reach on these cores.
    /// Halving the work between them is held to the slower core, 2t / max(t₀, t₁); only moving work to the faster one
    /// as it frees up reaches t·(1/t₀ + 1/t₁). On equal cores both are ×2 with t₀, t₁ timed alone; timed with both
    /// cores busy, the bound also counts what the two cores cost each other (shared caches and memory bandwidth).
    /// </summary>
    private static void PrintCoreSpeeds(List<Scaling> group, TextWriter output)
    {
        double single = group[0].Seconds;
        foreach (bool busy in new[] { false, true })
        {
            if (group.FirstOrDefault(r => r.Core == 0 && r.OtherCoreBusy == busy) is not { } first
                || group.FirstOrDefault(r => r.Core == 1 && r.OtherCoreBusy == busy) is not { } second) continue;
            string when = busy ? "with the same call on the other core" : "alone";
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{group[0].Task,-14} cores: one thread {when} takes {first.Seconds * 1e3:F0} ms on core 0 and {second.Seconds * 1e3:F0} ms on core 1, so halving the work between them gives at most ×{2 * single / Math.Max(first.Seconds, second.Seconds):F2} and balancing it perfectly ×{single * (1 / first.Seconds + 1 / second.Seconds):F2}"));
        }
    }

    /// <summary>
    /// On one thread a call costs about primal + b·direction; from b = 1 and b = 4 that gives both parts, and the
    /// ceiling of a directions split whose two chunks of b/2 each repeated the whole primal. They share its large
    /// products instead (TensorEngine.RunSharingPrimal), which lifts that ceiling.
    /// </summary>
    private static void PrintCostSplit(List<Scaling> group, TextWriter output)
    {
        if (group.FirstOrDefault(r => r.Directions == 1) is not { } one || group.FirstOrDefault(r => r.Directions == 4) is not { } four) return;
        double direction = (four.Seconds - one.Seconds) / 3, primal = one.Seconds - direction;
        double whole = primal + Variant.Directions * direction, halves = primal + Variant.Directions / 2 * direction;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{group[0].Task,-14} one thread: primal {primal * 1e3:F0} ms + {direction * 1e3:F0} ms per direction; two chunks of {Variant.Directions / 2} that each repeated the whole primal would do {(2 * halves / whole - 1) * 100:F0}% more work than one of {Variant.Directions} (at most ×{whole / halves:F2}); sharing the primal's large products lifts that bound"));
    }

    private static string Format(double? mib) => mib is { } m ? m.ToString("F1", CultureInfo.InvariantCulture) : "n/a";
}
