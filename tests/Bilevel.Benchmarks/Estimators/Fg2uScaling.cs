namespace Bilevel.Benchmarks.Estimators;

/// <summary>(FG)²U's speed-up from 2 threads: the 1-thread variants against the main (FG)²U worker, calls interleaved.</summary>
internal static class Fg2uScaling
{
    /// <summary>The variants after the 1-thread one (kernel split, cost split, one core at a time) are measured only where a call takes less than this.</summary>
    private static readonly TimeSpan CheapCall = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The 1-thread variants in their own fresh workers, interleaved with the main (FG)²U worker (still warm). In each
    /// round the two pinned workers also run a call at the same time, one per core: what one thread's work costs when
    /// the other core is as busy as two threads keep it (they share the memory system: on a Zen 5 host the pinned
    /// calls took 5% longer side by side than alone, with no code of ours in between).
    /// </summary>
    public static List<Scaling> Measure(Workload workload, WorkerProcess main, Row row, int threads, List<string> notes)
    {
        var variants = Variant.Fg2uVariants.Take(row.Ours < CheapCall.TotalSeconds ? Variant.Fg2uVariants.Count : 1).ToArray();
        var workers = new List<WorkerProcess>();
        try
        {
            var sides = new List<Measured> { new($"threads: 2 (directions split), {threads} engine threads", Variant.Directions, null, false, new Side(main, "")) };
            var sideBySide = new List<Measured>();
            foreach (var variant in variants)
            {
                var worker = WorkerProcess.StartOurs(workload.Name, variant.Key, threads, out string? error);
                if (worker is null)
                {
                    notes.Add($"{workload.Name} (FG)²U {variant.Label}: worker failed: {error}");
                    continue;
                }
                workers.Add(worker);
                var side = new Side(worker, "");
                side.WarmUp();
                sides.Add(new(variant.Label, variant.Fg2uDirections, variant.Core, false, side));
                if (variant.Core is not null) sideBySide.Add(new($"{variant.Label}, both cores busy", variant.Fg2uDirections, variant.Core, true, new Side(worker, "")));
            }
            if (sideBySide.Count != 2) sideBySide.Clear();
            int reps = TimingPolicy.Repetitions(sides.Skip(1).Select(s => s.Side.MeanWarmupSeconds).DefaultIfEmpty(row.Ours).Max());
            for (int r = 0; r < reps; r++)
            {
                foreach (var measured in sides) measured.Side.Time();
                if (sideBySide.Count == 2) Parallel.Invoke(() => sideBySide[0].Side.Time(), () => sideBySide[1].Side.Time());
            }
            // The 1-thread run first: the speed-ups are over it.
            return sides.Skip(1).Take(1).Concat(sides.Take(1)).Concat(sides.Skip(2)).Concat(sideBySide)
                .Select(s => new Scaling(workload.Name, s.Label, s.Directions, TimingPolicy.Median(s.Side.Seconds), TimingPolicy.Median(s.Side.CpuSeconds), reps, s.Core, s.OtherCoreBusy))
                .ToList();
        }
        finally
        {
            foreach (var worker in workers) worker.Dispose();
        }
    }

    private sealed record Measured(string Label, int Directions, int? Core, bool OtherCoreBusy, Side Side);
}
