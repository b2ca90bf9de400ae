using System.Text.Json;
using System.Globalization;
using Bilevel.Tensors.Internal.Native;

namespace Bilevel.Benchmarks.Estimators;

/// <summary>
/// One task, ours vs PyTorch: the task's files in a temporary folder, PyTorch's worker for all of its estimators,
/// a fresh worker of ours per estimator; memory, warm-up and timed calls interleaved between the two sides, then the
/// hypergradients compared.
/// </summary>
internal static class Comparison
{
    /// <summary>A float32 hypergradient (ours or PyTorch's) this far from PyTorch's float64 one gets a note.</summary>
    private const double ReferenceNote = 1e-3;

    /// <summary>Adds a row per selected estimator to <paramref name="rows"/>, (FG)²U's thread scaling to <paramref name="scaling"/>, and what went wrong or is worth knowing to <paramref name="notes"/>.</summary>
    public static void Compare(Workload workload, int threads, List<Row> rows, List<Scaling> scaling, List<string> notes, TextWriter output)
    {
        string dir = Directory.CreateTempSubdirectory("bilevel-estimator-bench-").FullName;
        try
        {
            workload.WriteFiles(dir);
            using var torch = WorkerProcess.StartTorch(string.Create(CultureInfo.InvariantCulture, $"--dir \"{dir}\" --threads {threads} {workload.TorchArguments}"), out string? startError);
            if (torch is null) notes.Add($"{workload.Name}: PyTorch peer unavailable: {startError}");
            else notes.Add($"{workload.Name}: PyTorch {torch.Ready.GetProperty("torch").GetString()} with OMP_WAIT_POLICY={(torch.Ready.GetProperty("omp_wait_policy").GetString() is { Length: > 0 } policy ? policy : "(default)")}, OpenBLAS {torch.Ready.GetProperty("blas_core").GetString()} kernels (ours: {OpenBlas.CoreName ?? "managed GEMM"}); (FG)²U by functorch.jvp {(torch.Ready.GetProperty("fg2u_mode").GetString() == "vmap" ? "vmapped over the directions" : "in a loop over the directions")}");

            foreach (var estimator in Variant.Estimators.Where(e => BenchmarkEnvironment.EstimatorSelected(e.Key)))
            {
                output.Write($"  {workload.Name} {estimator.Label} …");
                output.Flush();
                using var ours = WorkerProcess.StartOurs(workload.Name, estimator.Key, threads, out string? oursError);
                if (ours is null)
                {
                    notes.Add($"{workload.Name} {estimator.Label}: our worker failed: {oursError}");
                    output.WriteLine(" our worker failed");
                    continue;
                }
                var row = CompareOne(workload, estimator, ours, torch, dir, notes);
                rows.Add(row);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $" {row.Ours * 1e3:F0} ms vs {(row.Torch is { } t ? (t * 1e3).ToString("F0", CultureInfo.InvariantCulture) : "n/a")} ms, load {Machine.LoadAverage()}{(row.Error is null ? "" : $" (PyTorch failed: {row.Error})")}"));
                if (estimator.Key == "fg2u") scaling.AddRange(Fg2uScaling.Measure(workload, ours, row, threads, notes));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static Row CompareOne(Workload workload, Variant estimator, WorkerProcess ours, WorkerProcess? torch, string dir, List<string> notes)
    {
        // Memory is measured after each side's warm-up, so that one-time costs (JIT tiers, the garbage-collected heap's
        // first growth, allocator arenas) are not counted as the estimator's: driven directly, hypercleaning CG's
        // second call grew our RSS by 9.6–10.4 MiB and every later one by 7.0, its tensor peak.
        var mine = new Side(ours, "");
        string oursGradient = Path.Combine(dir, $"ours-{estimator.Key}.bin");
        string torchGradient = Path.Combine(dir, $"torch-{estimator.Peer}.bin");
        double oursLoss = mine.Warm($"grad {oursGradient}").GetProperty("loss").GetDouble();
        mine.WarmUp();
        var memory = MemoryCalls(mine, "mem");
        double oursRss = MedianMib(memory);
        long peakBytes = (long)memory[0].GetProperty("peak_bytes").GetDouble();

        Side? peer = null;
        double? torchRss = null, relative = null;
        string? error = null;
        if (torch is not null)
        {
            try
            {
                peer = new Side(torch, estimator.Peer);
                double torchLoss = peer.Warm($"grad {estimator.Peer} {torchGradient}").GetProperty("loss").GetDouble();
                peer.WarmUp();
                torchRss = MedianMib(MemoryCalls(peer, $"mem {estimator.Peer}"));
                if (Math.Abs(torchLoss - oursLoss) > 1e-3 * Math.Abs(torchLoss))
                    notes.Add(string.Create(CultureInfo.InvariantCulture, $"{workload.Name} {estimator.Label}: outer loss {oursLoss:G6} vs PyTorch's {torchLoss:G6}"));
            }
            catch (InvalidOperationException e)
            {
                error = e.Message;
                peer = null;
            }
        }

        int reps = TimingPolicy.Repetitions(Math.Max(mine.MeanWarmupSeconds, peer?.MeanWarmupSeconds ?? 0));
        for (int r = 0; r < reps; r++)
        {
            mine.Time();
            if (peer is null) continue;
            try
            {
                peer.Time();
            }
            catch (InvalidOperationException e)
            {
                error = e.Message;
                peer = null;
            }
        }
        bool torchTimed = peer is not null && peer.Seconds.Count == reps;
        if (peer is not null && estimator.Deterministic)
            relative = CompareWithReference(workload, estimator, torch!, oursGradient, torchGradient, dir, notes);
        return new Row(workload.Name, estimator.Label, TimingPolicy.Median(mine.Seconds), TimingPolicy.Median(mine.CpuSeconds),
            torchTimed ? TimingPolicy.Median(peer!.Seconds) : null, torchTimed ? TimingPolicy.Median(peer!.CpuSeconds) : null,
            peakBytes, oursRss, torchRss, relative, reps, error);
    }

    /// <summary>
    /// RSS growth varies by megabytes between identical calls (the garbage-collected heap, allocator arenas): driven
    /// directly, hypercleaning Neumann grew ours by 5.4–7.9 MiB over four calls, and PyTorch's ranged over 9.6–15.4 MiB
    /// between runs. Each side's figure is the median of this many calls.
    /// </summary>
    private const int MemorySamples = 3;

    private static List<JsonElement> MemoryCalls(Side side, string command)
        => Enumerable.Range(0, MemorySamples).Select(_ => side.Warm(command)).ToList();

    private static double MedianMib(List<JsonElement> calls) => TimingPolicy.Median(calls.Select(c => c.GetProperty("mib").GetDouble()).ToList());

    /// <summary>
    /// ‖ours − reference‖/‖reference‖ with PyTorch's float64 hypergradient on the same inputs as the reference, asked
    /// for after the timed calls so that it changes none of them. Two float32 results are no reference for each other
    /// on the unrolled ConvNet: a pre-activation within rounding of 0 takes the other side of its ReLU on one side,
    /// and the two trajectories part (RGU at width 32: PyTorch's float32 result is 5.5e-2 from float64, ours 4.7e-5;
    /// at width 8: PyTorch's below 1e-3, ours 9.2e-3). A note names both sides' errors where one exceeds 1e-3.
    /// </summary>
    internal static double? CompareWithReference(Workload workload, Variant estimator, WorkerProcess torch, string oursGradient, string torchGradient, string dir,
        List<string> notes)
    {
        string path = Path.Combine(dir, $"reference-{estimator.Peer}.bin");
        try
        {
            torch.Command($"reference {estimator.Peer} {path}");
        }
        catch (InvalidOperationException e)
        {
            notes.Add($"{workload.Name} {estimator.Label}: PyTorch's float64 reference failed: {e.Message}");
            return null;
        }
        var reference = RawFiles.ReadDoubles(path);
        double ours = RelativeError(RawFiles.ReadFloats(oursGradient), reference), theirs = RelativeError(RawFiles.ReadFloats(torchGradient), reference);
        if (Math.Max(ours, theirs) > ReferenceNote)
            notes.Add(string.Create(CultureInfo.InvariantCulture, $"{workload.Name} {estimator.Label}: float32 hypergradients vs PyTorch's float64 one: ours {ours:E1}, PyTorch's {theirs:E1} (rounding moves pre-activations across their ReLU kinks along the trajectory)"));
        return ours;
    }

    private static double RelativeError(float[] ours, double[] reference)
    {
        if (ours.Length != reference.Length) return double.NaN;
        double diff = 0, norm = 0;
        for (int i = 0; i < ours.Length; i++)
        {
            double d = ours[i] - reference[i];
            diff += d * d;
            norm += reference[i] * reference[i];
        }
        return Math.Sqrt(diff / Math.Max(norm, double.Epsilon));
    }
}
