using System.Diagnostics;
using System.Globalization;
using Bilevel.Tensors;

namespace Bilevel.Benchmarks.Estimators;

/// <summary>
/// Time and memory per hypergradient, ours vs PyTorch 1.13 (tests/peer/hypergrad_bench.py) on identical inputs in
/// one run, float32, both on the same thread count: hypercleaning with the MLP 784-256-10 (T = 50, 100 examples per
/// inner step, φ = weights of 1000 training examples, outer loss on 1000 validation examples) and data condensation
/// with the 3-block ConvNet (MNIST shapes, IPC 10, T = 20, a real batch of 256), for RGU, TRGU(K), (FG)²U(b = 8),
/// Neumann(K), CG(K) and KFAC; and (FG)²U's speed-up from 2 threads.
/// </summary>
/// <remarks>
/// <para>Each side runs in a worker process that answers one command at a time (<see cref="WorkerProcess"/>):
/// PyTorch in one per task, ours in a fresh one per estimator (this program again, with
/// <c>BILEVEL_ESTIMATOR_BENCH_WORKER</c> set; <see cref="OurWorker"/>), as a trial's worker runs one estimator: the
/// tensor pool keeps exact-length buffers up to a cap, so buffers that one estimator left behind would make the next
/// one allocate afresh. The calls of the two sides are interleaved one by one, so that load bursts on a noisy machine
/// hit both alike (<see cref="Comparison"/>).</para>
/// <para>Time: median of several calls per side after a warm-up of ≥ 30 calls or ≥ 5 s, and ≥ 2 calls (.NET's tiered
/// JIT reaches its optimised code; our worker also runs the estimator once on a tiny instance of the task first;
/// <see cref="TimingPolicy"/>). PyTorch is timed with glibc keeping freed memory for reuse (bench_models.py's
/// default) and, unless the caller set it, OMP_WAIT_POLICY=PASSIVE: with spinning OpenMP threads it was up to 20×
/// slower on this loaded machine.</para>
/// <para>Memory: peak RSS growth over a call after each side's warm-up, the median of 3 (VmHWM after /proc/self/clear_refs;
/// <see cref="PeakRss"/>), each side's allocator having given its idle memory back first: PyTorch's with glibc
/// trimmed and returning large blocks on free, ours after <see cref="TensorMemory.ReleaseIdle"/> and a full GC
/// (<see cref="OurWorker"/>); plus ours' <see cref="Hypergradients.CostReport.PeakBytes"/> (tensor high-water mark
/// over the call).</para>
/// <para>Every estimator object is created anew for each call, so KFAC recomputes its factors every time, as the
/// PyTorch side does. The hypergradients of the deterministic estimators are compared with PyTorch's computed in
/// float64 on the same inputs (relative error), which checks that both sides run the same workload; PyTorch's own
/// float32 result is no reference on the unrolled ConvNet (see <see cref="Comparison.CompareWithReference"/>).</para>
/// <para><c>BILEVEL_BENCH_CONVNET_WIDTH</c> overrides the ConvNet width (default <see cref="DefaultConvNetWidth"/>);
/// <c>BILEVEL_BENCH_TASKS</c> (hypercleaning,condensation) and <c>BILEVEL_BENCH_ESTIMATORS</c> (rgu,trgu,fg2u,neumann,cg,kfac)
/// select a subset (<see cref="BenchmarkEnvironment"/>).</para>
/// </remarks>
public static class EstimatorBenchmark
{
    /// <summary>The ConvNet width that keeps a full run near 10 minutes on the 2-core machine (128 is the paper's).</summary>
    public const int DefaultConvNetWidth = 32;

    public static int Run(int threads, TextWriter output)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ArgumentNullException.ThrowIfNull(output);
        TensorEngine.ThreadCount = threads;
        if (BenchmarkEnvironment.WorkerSpec() is { } worker)
            return OurWorker.Serve(worker, threads, Console.In, output);

        int width = BenchmarkEnvironment.ConvNetWidth();
        var clock = Stopwatch.StartNew();
        output.WriteLine($"Estimators, float32, {threads} threads (ours: TensorEngine.ThreadCount; PyTorch: torch.set_num_threads), load average at start {Machine.LoadAverage()}");
        var rows = new List<Row>();
        var scaling = new List<Scaling>();
        var notes = new List<string>();
        foreach (var name in Workload.Tasks.Where(BenchmarkEnvironment.TaskSelected))
        {
            var workload = Workload.Build(name, width, tiny: false);
            output.WriteLine($"  {workload.Name}: {workload.Description}");
            Comparison.Compare(workload, threads, rows, scaling, notes, output);
        }
        ResultsTable.Print(rows, threads, output);
        ResultsTable.PrintScaling(scaling, output);
        output.WriteLine();
        foreach (var note in notes) output.WriteLine($"note: {note}");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"estimator benchmark took {clock.Elapsed.TotalMinutes:F1} min; load average at end {Machine.LoadAverage()}"));
        return 0;
    }
}
