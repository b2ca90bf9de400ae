using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Bilevel.Hypergradients;
using Bilevel.Hypergradients.Estimators;
using Bilevel.Nn.Optimizers;
using Bilevel.Tasks.Condensation;
using Bilevel.Tasks.Data;
using Bilevel.Tasks.Hypercleaning;
using Bilevel.Tensors;

namespace Bilevel.Benchmarks;

/// <summary>
/// Time and memory per hypergradient, ours vs PyTorch 1.13 (tests/peer/hypergrad_bench.py) on identical inputs in
/// one run, float32, both on the same thread count: hypercleaning with the MLP 784-256-10 (T = 50, 100 examples per
/// inner step, φ = weights of 1000 training examples, outer loss on 1000 validation examples) and data condensation
/// with the 3-block ConvNet (MNIST shapes, IPC 10, T = 20, a real batch of 256), for RGU, TRGU(K), (FG)²U(b = 8),
/// Neumann(K), CG(K) and KFAC; and (FG)²U's speed-up from 2 threads.
/// </summary>
/// <remarks>
/// <para>Each side runs in a worker process that answers one command at a time: PyTorch in one per task, ours in a
/// fresh one per estimator (this program again, with <c>BILEVEL_ESTIMATOR_BENCH_WORKER</c> set), as a trial's worker
/// runs one estimator: the tensor pool keeps exact-length buffers up to a cap, so buffers that one estimator left
/// behind would make the next one allocate afresh. The calls of the two sides are interleaved one by one, so that
/// load bursts on a noisy machine hit both alike.</para>
/// <para>Time: median of several calls per side after a warm-up of ≥ 30 calls or ≥ 1 s, and ≥ 2 calls (.NET's tiered
/// JIT reaches its optimised code; our worker also runs the estimator once on a tiny instance of the task first).
/// PyTorch is timed with glibc keeping freed memory for reuse (bench_models.py's default) and, unless the caller set
/// it, OMP_WAIT_POLICY=PASSIVE: with spinning OpenMP threads it was up to 20× slower on this loaded machine.</para>
/// <para>Memory: peak RSS growth over one call (VmHWM after /proc/self/clear_refs): ours over the first call in the
/// fresh worker (after a full GC), PyTorch's over its second call with glibc returning large blocks on free; plus
/// ours' <see cref="CostReport.PeakBytes"/> (tensor high-water mark over the call).</para>
/// <para>Every estimator object is created anew for each call, so KFAC recomputes its factors every time, as the
/// PyTorch side does. The hypergradients of the deterministic estimators are compared with PyTorch's computed in
/// float64 on the same inputs (relative error), which checks that both sides run the same workload; PyTorch's own
/// float32 result is no reference on the unrolled ConvNet (see <see cref="CompareWithReference"/>).</para>
/// <para><c>BILEVEL_BENCH_CONVNET_WIDTH</c> overrides the ConvNet width (default <see cref="DefaultConvNetWidth"/>);
/// <c>BILEVEL_BENCH_TASKS</c> (hypercleaning,condensation) and <c>BILEVEL_BENCH_ESTIMATORS</c> (rgu,trgu,fg2u,neumann,cg,kfac)
/// select a subset.</para>
/// </remarks>
public static class EstimatorBenchmark
{
    /// <summary>Set in our worker processes: "task|variant".</summary>
    private const string WorkerVariable = "BILEVEL_ESTIMATOR_BENCH_WORKER";

    private const string WidthVariable = "BILEVEL_BENCH_CONVNET_WIDTH";
    private const string TasksVariable = "BILEVEL_BENCH_TASKS";
    private const string EstimatorsVariable = "BILEVEL_BENCH_ESTIMATORS";

    /// <summary>The ConvNet width that keeps a full run near 10 minutes on the 2-core machine (128 is the paper's).</summary>
    public const int DefaultConvNetWidth = 32;

    private const ulong Seed = 7;
    private const long OuterStep = 1;
    private const int TruncationK = 10;
    private const int Directions = 8;
    private const int ImplicitK = 10;
    private const double NeumannAlpha = 0.05;
    private const double CgDamping = 0.01;
    private const double KfacDampingValue = 0.01;

    /// <summary>A float32 hypergradient (ours or PyTorch's) this far from PyTorch's float64 one gets a note.</summary>
    private const double ReferenceNote = 1e-3;

    private const int WarmupCalls = 30;
    private const int MinWarmupCalls = 2;
    private static readonly TimeSpan WarmupTime = TimeSpan.FromSeconds(1);
    private const int MinReps = 3;
    private const int MaxReps = 9;

    /// <summary>Timed calls per side and estimator grow for cheap estimators up to about this much time.</summary>
    private static readonly TimeSpan TimedBudget = TimeSpan.FromSeconds(3);

    /// <summary>The kernel-split (FG)²U variant is measured only where a call takes less than this.</summary>
    private static readonly TimeSpan CheapCall = TimeSpan.FromSeconds(2);

    public static int Run(int threads, TextWriter output)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ArgumentNullException.ThrowIfNull(output);
        TensorEngine.ThreadCount = threads;
        if (Environment.GetEnvironmentVariable(WorkerVariable) is { Length: > 0 } worker)
            return Serve(worker, threads, Console.In, output);

        int width = ConvNetWidth();
        var clock = Stopwatch.StartNew();
        output.WriteLine($"Estimators, float32, {threads} threads (ours: TensorEngine.ThreadCount; PyTorch: torch.set_num_threads), load average at start {LoadAverage()}");
        var rows = new List<Row>();
        var scaling = new List<Scaling>();
        var notes = new List<string>();
        foreach (var name in new[] { "hypercleaning", "condensation" }.Where(t => Selected(TasksVariable, t)))
        {
            var workload = Build(name, width, tiny: false);
            output.WriteLine($"  {workload.Name}: {workload.Description}");
            Compare(workload, threads, rows, scaling, notes, output);
        }
        PrintTable(rows, threads, output);
        PrintScaling(scaling, output);
        output.WriteLine();
        foreach (var note in notes) output.WriteLine($"note: {note}");
        output.WriteLine(Invariant($"estimator benchmark took {clock.Elapsed.TotalMinutes:F1} min; load average at end {LoadAverage()}"));
        return 0;
    }

    /// <summary>Whether <paramref name="name"/> is in the comma-separated list of <paramref name="variable"/> (all when unset).</summary>
    private static bool Selected(string variable, string name)
        => Environment.GetEnvironmentVariable(variable) is not { Length: > 0 } list || list.Split(',', StringSplitOptions.TrimEntries).Contains(name);

    // ------------------------------------------------------------------------------------------------ workloads

    /// <summary>A task instance with the files and arguments that let the PyTorch peer build the same one.</summary>
    private sealed record Workload(string Name, string Description, IBilevelProblem<float> Problem, Tensor<float> Phi, string TorchArguments, Action<string> WriteFiles);

    private static int ConvNetWidth()
        => Environment.GetEnvironmentVariable(WidthVariable) is { Length: > 0 } text ? int.Parse(text, CultureInfo.InvariantCulture) : DefaultConvNetWidth;

    private static Workload Build(string name, int width, bool tiny) => name switch
    {
        "hypercleaning" => Hypercleaning(tiny),
        "condensation" => Condensation(width, tiny),
        _ => throw new ArgumentException($"unknown benchmark task '{name}'", nameof(name)),
    };

    private static Workload Hypercleaning(bool tiny)
    {
        var config = new HypercleaningConfig
        {
            TrainSize = tiny ? 100 : 1000,
            ValidationSize = tiny ? 50 : 1000,
            TestSize = 0,
            Hidden = [tiny ? 16 : 256],
            LearningRate = 0.1,
            WeightDecay = 1e-3,
            UnrollSteps = tiny ? 3 : 50,
            BatchSize = tiny ? 20 : 100,
        };
        var problem = config.Build<float>(Seed);
        var phi = problem.InitialPhi();
        var data = problem.Data;
        string arguments = Invariant(
            $"--task hypercleaning --steps {config.UnrollSteps} --lr {config.LearningRate:R} --wd {config.WeightDecay:R} --hidden {config.Hidden[0]} --train {config.TrainSize} --val {config.ValidationSize} --batch {config.BatchSize} --fg2u-mode vmap");
        void Write(string dir)
        {
            WriteFloats(dir, "theta0.bin", problem.InitialTheta(OuterStep));
            WriteFloats(dir, "phi.bin", phi);
            WriteFloats(dir, "x_train.bin", data.Train.FlatImageBatch<float>(Enumerable.Range(0, data.Train.Count).ToArray()));
            WriteInts(dir, "y_train.bin", data.Train.Labels);
            WriteFloats(dir, "x_val.bin", data.Validation.FlatImageBatch<float>(Enumerable.Range(0, data.Validation.Count).ToArray()));
            WriteInts(dir, "y_val.bin", data.Validation.Labels);
            WriteInts(dir, "batches.bin", Enumerable.Range(1, problem.UnrollSteps).SelectMany(t => problem.InnerBatch(OuterStep, t)).ToArray());
        }
        return new Workload("hypercleaning", Invariant(
            $"MLP 784-{config.Hidden[0]}-10, SGD lr {config.LearningRate} + weight decay {config.WeightDecay}, T = {config.UnrollSteps}, batch {config.BatchSize}, N = {problem.OuterSize} weights, M = {problem.InnerSize}, {config.ValidationSize} validation examples"),
            problem, phi, arguments, Write);
    }

    private static Workload Condensation(int width, bool tiny)
    {
        var config = new CondensationConfig
        {
            ImagesPerClass = tiny ? 1 : 10,
            Channels = tiny ? 4 : width,
            Depth = 3,
            UnrollSteps = tiny ? 2 : 20,
            RealBatch = tiny ? 16 : 256,
            LearningRate = 0.01,
        };
        var task = config.Build<float>(Seed);
        var phi = task.InitialPhi();
        string arguments = Invariant(
            $"--task condensation --steps {config.UnrollSteps} --lr {config.LearningRate:R} --width {config.Channels} --depth {config.Depth} --ipc {config.ImagesPerClass} --real-batch {config.RealBatch} --fg2u-mode vmap");
        void Write(string dir)
        {
            var batch = task.RealBatch(OuterStep);
            WriteFloats(dir, "theta0.bin", task.InitialTheta(OuterStep));
            WriteFloats(dir, "phi.bin", phi);
            WriteFloats(dir, "x_real.bin", task.Train.ImageBatch<float>(batch));
            WriteInts(dir, "y_real.bin", task.Train.LabelBatch(batch));
        }
        return new Workload("condensation", Invariant(
            $"ConvNet width {config.Channels}, depth {config.Depth}, IPC {config.ImagesPerClass} (N = {task.OuterSize} pixels), SGD lr {config.LearningRate}, T = {config.UnrollSteps}, real batch {config.RealBatch}, M = {task.InnerSize}"),
            task, phi, arguments, Write);
    }

    // ------------------------------------------------------------------------------------------------ estimators

    /// <param name="Key">Our worker's variant.</param>
    /// <param name="Peer">The PyTorch estimator it is compared with.</param>
    /// <param name="EngineThreads">TensorEngine.ThreadCount in the worker; null: the benchmark's thread count.</param>
    private sealed record Variant(string Key, string Peer, string Label, int? EngineThreads, Func<IHypergradientEstimator> Create, bool Deterministic);

    private static readonly Variant[] Estimators =
    [
        new("rgu", "rgu", "RGU", null, () => new ReverseUnrolling(), true),
        new("trgu", "trgu", $"TRGU(K={TruncationK})", null, () => new ReverseUnrolling(TruncationK), true),
        new("fg2u", "fg2u", $"FG2U(b={Directions})", null, () => new ForwardGradientUnrolling(Directions, threads: 2), false),
        new("neumann", "neumann", $"Neumann(K={ImplicitK})", null, () => new Neumann(ImplicitK, NeumannAlpha), true),
        new("cg", "cg", $"CG(K={ImplicitK})", null, () => new ConjugateGradient(ImplicitK, CgDamping), true),
        new("kfac", "kfac", "KFAC", null, () => new Kfac(KfacDampingValue), true),
    ];

    /// <summary>(FG)²U on one thread, timed against the main (FG)²U row (directions split over 2 threads).</summary>
    private static readonly Variant[] Fg2uVariants =
    [
        new("fg2u-1", "fg2u", "threads: 1, 1 engine thread", 1, () => new ForwardGradientUnrolling(Directions, threads: 1), false),
        new("fg2u-k", "fg2u", "threads: 1, 2 engine threads (kernels split)", 2, () => new ForwardGradientUnrolling(Directions, threads: 1), false),
    ];

    private static Variant FindVariant(string key) => Estimators.Concat(Fg2uVariants).Single(v => v.Key == key);

    /// <summary>True while a warm-up of <paramref name="calls"/> calls taking <paramref name="seconds"/> must go on: fewer than 2 calls, or fewer than 30 and under 1 s.</summary>
    private static bool WarmingUp(int calls, double seconds)
        => calls < MinWarmupCalls || (calls < WarmupCalls && seconds < WarmupTime.TotalSeconds);

    private static int Repetitions(double secondsPerCall)
        => (int)Math.Clamp(Math.Ceiling(TimedBudget.TotalSeconds / Math.Max(secondsPerCall, 1e-6)), MinReps, MaxReps);

    // ------------------------------------------------------------------------------------------------ our worker

    /// <summary>
    /// Our side of one variant, answering the commands of hypergrad_bench.py: "mem" (the first call on the task, with
    /// its RSS growth), "time", "grad PATH", "quit"; one JSON line each.
    /// </summary>
    private static int Serve(string spec, int threads, TextReader input, TextWriter output)
    {
        var parts = spec.Split('|');
        var variant = FindVariant(parts[1]);
        TensorEngine.ThreadCount = variant.EngineThreads ?? threads;
        int width = ConvNetWidth();
        // Compile the estimator's code paths on a tiny instance first, so that the JIT's memory is not counted.
        CallOurs(Build(parts[0], width, tiny: true), variant.Create);
        var workload = Build(parts[0], width, tiny: false);
        output.WriteLine("{\"ready\": true}");
        output.Flush();
        while (input.ReadLine() is { } line)
        {
            var command = line.Split(' ', 2, StringSplitOptions.TrimEntries);
            if (command[0] == "quit") break;
            string reply;
            try
            {
                reply = command[0] switch
                {
                    "mem" => Memory(workload, variant),
                    "time" => Reply(CallOurs(workload, variant.Create)),
                    "grad" when command.Length == 2 => Reply(CallOurs(workload, variant.Create, command[1])),
                    _ => throw new ArgumentException($"unknown command '{line}'"),
                };
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException)
            {
                reply = JsonSerializer.Serialize(new Dictionary<string, string> { ["error"] = $"{e.GetType().Name}: {e.Message}" });
            }
            output.WriteLine(reply);
            output.Flush();
        }
        return 0;
    }

    private sealed record Call(double Seconds, double CpuSeconds, double Loss, long PeakBytes);

    private static Call CallOurs(Workload workload, Func<IHypergradientEstimator> create, string? gradientPath = null)
    {
        using var scope = TensorScope.Begin();
        var instance = create();
        var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        long start = Stopwatch.GetTimestamp();
        var estimate = instance.Estimate(workload.Problem, workload.Phi, OuterStep);
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        process.Refresh();
        double cpuSeconds = (process.TotalProcessorTime - cpu).TotalSeconds;
        if (gradientPath is not null) WriteFloats(gradientPath, estimate.Gradient);
        return new Call(seconds, cpuSeconds, estimate.OuterLoss, estimate.Cost.PeakBytes);
    }

    private static string Reply(Call call, double? rssMib = null)
    {
        var fields = new Dictionary<string, double> { ["s"] = call.Seconds, ["cpu_s"] = call.CpuSeconds, ["loss"] = call.Loss, ["peak_bytes"] = call.PeakBytes };
        if (rssMib is { } mib) fields["mib"] = mib;
        return JsonSerializer.Serialize(fields);
    }

    /// <summary>One call with the growth of the process's peak RSS over the RSS just before it.</summary>
    private static string Memory(Workload workload, Variant variant)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        File.WriteAllText("/proc/self/clear_refs", "5");
        long baseline = StatusKb("VmRSS");
        var call = CallOurs(workload, variant.Create);
        long peak = StatusKb("VmHWM");
        return Reply(call, Math.Max(0, peak - baseline) / 1024.0);
    }

    private static long StatusKb(string key)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(key + ":", StringComparison.Ordinal))
                return long.Parse(line[(key.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        throw new InvalidOperationException($"{key} is not in /proc/self/status");
    }

    // ------------------------------------------------------------------------------------------------ comparison

    private sealed record Row(string Task, string Estimator, double Ours, double OursCpu, double? Torch, double? TorchCpu, long PeakBytes,
        double? OursRssMib, double? TorchRssMib, double? RelativeError, int Reps, string? Error);

    private sealed record Scaling(string Task, string Variant, double Seconds, double CpuSeconds, int Reps);

    /// <summary>The calls one side made: warm-up and timed (wall and CPU seconds).</summary>
    private sealed class Side(Worker worker, string estimator)
    {
        public int WarmupCalls { get; private set; }

        public double WarmupSeconds { get; private set; }

        public List<double> Seconds { get; } = [];

        public List<double> CpuSeconds { get; } = [];

        public double MeanWarmupSeconds => WarmupSeconds / Math.Max(1, WarmupCalls);

        public JsonElement Warm(string command)
        {
            var reply = worker.Command(command);
            WarmupCalls++;
            WarmupSeconds += reply.GetProperty("s").GetDouble();
            return reply;
        }

        public void WarmUp()
        {
            while (WarmingUp(WarmupCalls, WarmupSeconds)) Warm($"time {estimator}");
        }

        public JsonElement Time()
        {
            var reply = worker.Command($"time {estimator}");
            Seconds.Add(reply.GetProperty("s").GetDouble());
            CpuSeconds.Add(reply.GetProperty("cpu_s").GetDouble());
            return reply;
        }
    }

    private static void Compare(Workload workload, int threads, List<Row> rows, List<Scaling> scaling, List<string> notes, TextWriter output)
    {
        string dir = Directory.CreateTempSubdirectory("bilevel-estimator-bench-").FullName;
        try
        {
            workload.WriteFiles(dir);
            using var torch = Worker.StartTorch(Invariant($"--dir \"{dir}\" --threads {threads} {workload.TorchArguments}"), out string? startError);
            if (torch is null) notes.Add($"{workload.Name}: PyTorch peer unavailable: {startError}");
            else notes.Add($"{workload.Name}: PyTorch {torch.Ready.GetProperty("torch").GetString()} with OMP_WAIT_POLICY={(torch.Ready.GetProperty("omp_wait_policy").GetString() is { Length: > 0 } policy ? policy : "(default)")}; (FG)²U by functorch.jvp {(torch.Ready.GetProperty("fg2u_mode").GetString() == "vmap" ? "vmapped over the directions" : "in a loop over the directions")}");

            foreach (var estimator in Estimators.Where(e => Selected(EstimatorsVariable, e.Key)))
            {
                output.Write($"  {workload.Name} {estimator.Label} …");
                output.Flush();
                using var ours = Worker.StartOurs(workload.Name, estimator.Key, threads, out string? oursError);
                if (ours is null)
                {
                    notes.Add($"{workload.Name} {estimator.Label}: our worker failed: {oursError}");
                    output.WriteLine(" our worker failed");
                    continue;
                }
                var row = CompareOne(workload, estimator, ours, torch, threads, dir, notes);
                rows.Add(row);
                output.WriteLine(Invariant($" {row.Ours * 1e3:F0} ms vs {(row.Torch is { } t ? (t * 1e3).ToString("F0", CultureInfo.InvariantCulture) : "n/a")} ms, load {LoadAverage()}{(row.Error is null ? "" : $" (PyTorch failed: {row.Error})")}"));
                if (estimator.Key == "fg2u") scaling.AddRange(Fg2uScaling(workload, ours, row, threads, notes));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static Row CompareOne(Workload workload, Variant estimator, Worker ours, Worker? torch, int threads, string dir, List<string> notes)
    {
        var mine = new Side(ours, "");
        var memory = mine.Warm("mem");
        double oursRss = memory.GetProperty("mib").GetDouble();
        long peakBytes = (long)memory.GetProperty("peak_bytes").GetDouble();
        string oursGradient = Path.Combine(dir, $"ours-{estimator.Key}.bin");
        double oursLoss = mine.Warm($"grad {oursGradient}").GetProperty("loss").GetDouble();
        mine.WarmUp();

        Side? peer = null;
        double? torchRss = null, relative = null;
        string? error = null;
        if (torch is not null)
        {
            try
            {
                peer = new Side(torch, estimator.Peer);
                string torchGradient = Path.Combine(dir, $"torch-{estimator.Peer}.bin");
                double torchLoss = peer.Warm($"grad {estimator.Peer} {torchGradient}").GetProperty("loss").GetDouble();
                torchRss = peer.Warm($"mem {estimator.Peer}").GetProperty("mib").GetDouble();
                peer.WarmUp();
                if (Math.Abs(torchLoss - oursLoss) > 1e-3 * Math.Abs(torchLoss))
                    notes.Add(Invariant($"{workload.Name} {estimator.Label}: outer loss {oursLoss:G6} vs PyTorch's {torchLoss:G6}"));
            }
            catch (InvalidOperationException e)
            {
                error = e.Message;
                peer = null;
            }
        }

        int reps = Repetitions(Math.Max(mine.MeanWarmupSeconds, peer?.MeanWarmupSeconds ?? 0));
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
            relative = CompareWithReference(workload, estimator, torch!, oursGradient, Path.Combine(dir, $"torch-{estimator.Peer}.bin"), dir, notes);
        return new Row(workload.Name, estimator.Label, Median(mine.Seconds), Median(mine.CpuSeconds),
            torchTimed ? Median(peer!.Seconds) : null, torchTimed ? Median(peer!.CpuSeconds) : null,
            peakBytes, oursRss, torchRss, relative, reps, error);
    }

    /// <summary>
    /// ‖ours − reference‖/‖reference‖ with PyTorch's float64 hypergradient on the same inputs as the reference, asked
    /// for after the timed calls so that it changes none of them. Two float32 results are no reference for each other
    /// on the unrolled ConvNet: a pre-activation within rounding of 0 takes the other side of its ReLU on one side,
    /// and the two trajectories part (RGU at width 32: PyTorch's float32 result is 5.5e-2 from float64, ours 4.7e-5;
    /// at width 8: PyTorch's below 1e-3, ours 9.2e-3). A note names both sides' errors where one exceeds 1e-3.
    /// </summary>
    private static double? CompareWithReference(Workload workload, Variant estimator, Worker torch, string oursGradient, string torchGradient, string dir,
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
        var reference = ReadDoubles(path);
        double ours = RelativeError(ReadFloats(oursGradient), reference), theirs = RelativeError(ReadFloats(torchGradient), reference);
        if (Math.Max(ours, theirs) > ReferenceNote)
            notes.Add(Invariant($"{workload.Name} {estimator.Label}: float32 hypergradients vs PyTorch's float64 one: ours {ours:E1}, PyTorch's {theirs:E1} (rounding moves pre-activations across their ReLU kinks along the trajectory)"));
        return ours;
    }

    /// <summary>The 1-thread variants in their own fresh workers, interleaved with the main (FG)²U worker (still warm).</summary>
    private static List<Scaling> Fg2uScaling(Workload workload, Worker main, Row row, int threads, List<string> notes)
    {
        var variants = Fg2uVariants.Take(row.Ours < CheapCall.TotalSeconds ? Fg2uVariants.Length : 1).ToArray();
        var workers = new List<Worker>();
        try
        {
            var sides = new List<(string Label, Side Side)> { ($"threads: 2 (directions split), {threads} engine threads", new Side(main, "")) };
            foreach (var variant in variants)
            {
                var worker = Worker.StartOurs(workload.Name, variant.Key, threads, out string? error);
                if (worker is null)
                {
                    notes.Add($"{workload.Name} (FG)²U {variant.Label}: worker failed: {error}");
                    continue;
                }
                workers.Add(worker);
                var side = new Side(worker, "");
                side.Warm("mem");
                side.WarmUp();
                sides.Add((variant.Label, side));
            }
            int reps = Repetitions(sides.Skip(1).Select(s => s.Side.MeanWarmupSeconds).DefaultIfEmpty(row.Ours).Max());
            for (int r = 0; r < reps; r++)
                foreach (var (_, side) in sides) side.Time();
            // The 1-thread run first: the speed-ups are over it.
            return sides.Skip(1).Take(1).Concat(sides.Take(1)).Concat(sides.Skip(2))
                .Select(s => new Scaling(workload.Name, s.Label, Median(s.Side.Seconds), Median(s.Side.CpuSeconds), reps)).ToList();
        }
        finally
        {
            foreach (var worker in workers) worker.Dispose();
        }
    }

    private static void PrintTable(List<Row> rows, int threads, TextWriter output)
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
            output.WriteLine(Invariant(
                $"{r.Task,-14} {r.Estimator,-13} {r.Ours * 1e3,9:F1} {torchMs,9} {timeRatio,5} {cpuRatio,5} | {Format(r.OursRssMib),8} {Format(r.TorchRssMib),9} {rssRatio,5} | {peakMib,9:F1} {peakRatio,5} | {(r.RelativeError is { } e ? e.ToString("E1", CultureInfo.InvariantCulture) : "-"),7} {r.Reps,4}"));
            if (r.Error is not null) output.WriteLine($"    PyTorch failed: {r.Error}");
        }
        output.WriteLine("time, cpu: ours/PyTorch of the median wall time and of the median process CPU time per call. RSS: peak RSS growth over one call");
        output.WriteLine("(VmHWM after clear_refs; ours: first call in a fresh worker; PyTorch: a warm call, glibc returning freed blocks); ours peak:");
        output.WriteLine("CostReport.PeakBytes, the tensor high-water mark, and its ratio to PyTorch's RSS. rel.err: ‖ours − torch‖/‖torch‖ of the hypergradient,");
        output.WriteLine("PyTorch's computed in float64 on the same inputs.");
    }

    private static string Format(double? mib) => mib is { } m ? m.ToString("F1", CultureInfo.InvariantCulture) : "n/a";

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

    private static void PrintScaling(List<Scaling> rows, TextWriter output)
    {
        if (rows.Count == 0) return;
        output.WriteLine();
        output.WriteLine($"(FG)²U(b = {Directions}) on 1 vs 2 threads, each in its own warm worker, calls interleaved (median ms; speed-up over the 1-thread run; target ≥ 1.7)");
        foreach (var group in rows.GroupBy(r => r.Task))
        {
            double single = group.First().Seconds;
            foreach (var r in group)
                output.WriteLine(Invariant($"{r.Task,-14} {r.Variant,-50} {r.Seconds * 1e3,9:F1} ms  ×{single / r.Seconds:F2}  cpu {r.CpuSeconds * 1e3,9:F1} ms  ({r.Reps} reps)"));
        }
    }

    private static string LoadAverage()
    {
        try
        {
            return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "n/a";
        }
    }

    // ------------------------------------------------------------------------------------------------ workers

    /// <summary>A process that answers one command per line with one JSON line: hypergrad_bench.py, or our own worker.</summary>
    private sealed class Worker : IDisposable
    {
        private readonly Process process;
        private readonly string name;
        private readonly StringBuilder stderr = new();

        private Worker(Process process, string name)
        {
            this.process = process;
            this.name = name;
        }

        /// <summary>The worker's first line.</summary>
        public JsonElement Ready { get; private set; }

        public static Worker? StartTorch(string arguments, out string? error)
        {
            string python = Environment.GetEnvironmentVariable("BILEVEL_TORCH_PYTHON") is { Length: > 0 } p ? p : "/usr/bin/python3";
            string? root = FindRepoRoot();
            string? script = root is null ? null : Path.Combine(root, "tests", "peer", "hypergrad_bench.py");
            if (script is null || !File.Exists(script))
            {
                error = $"tests/peer/hypergrad_bench.py not found above {AppContext.BaseDirectory}";
                return null;
            }
            if (!File.Exists(python))
            {
                error = $"{python} does not exist (install python3-torch)";
                return null;
            }
            var start = new ProcessStartInfo(python, $"\"{script}\" {arguments}");
            start.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
            if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OMP_WAIT_POLICY"))) start.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
            return Start(start, "hypergrad_bench.py", out error);
        }

        /// <summary>This program again, serving one variant of one task.</summary>
        public static Worker? StartOurs(string task, string variant, int threads, out string? error)
        {
            string? path = Environment.ProcessPath;
            if (path is null)
            {
                error = "the benchmark's own executable is unknown";
                return null;
            }
            var start = new ProcessStartInfo(path);
            if (Path.GetFileNameWithoutExtension(path) == "dotnet") start.ArgumentList.Add(Assembly.GetExecutingAssembly().Location);
            foreach (var a in new[] { "--only", "estimators", "--threads", threads.ToString(CultureInfo.InvariantCulture) }) start.ArgumentList.Add(a);
            start.Environment[WorkerVariable] = $"{task}|{variant}";
            start.Environment[WidthVariable] = ConvNetWidth().ToString(CultureInfo.InvariantCulture);
            return Start(start, $"our {variant} worker", out error);
        }

        private static Worker? Start(ProcessStartInfo start, string name, out string? error)
        {
            start.RedirectStandardInput = true;
            start.RedirectStandardOutput = true;
            start.RedirectStandardError = true;
            start.UseShellExecute = false;
            Process? process;
            try
            {
                process = Process.Start(start);
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                error = $"{start.FileName} could not be started: {e.Message}";
                return null;
            }
            if (process is null)
            {
                error = $"{start.FileName} could not be started";
                return null;
            }
            var worker = new Worker(process, name);
            process.ErrorDataReceived += (_, e) =>
            {
                lock (worker.stderr)
                    if (e.Data is not null && worker.stderr.Length < 20_000) worker.stderr.AppendLine(e.Data);
            };
            process.BeginErrorReadLine();
            try
            {
                worker.Ready = worker.Read("start");
            }
            catch (InvalidOperationException e)
            {
                error = e.Message;
                worker.Dispose();
                return null;
            }
            error = null;
            return worker;
        }

        /// <summary>Sends one command and returns its JSON answer; throws <see cref="InvalidOperationException"/> with the error.</summary>
        public JsonElement Command(string command)
        {
            process.StandardInput.WriteLine(command);
            process.StandardInput.Flush();
            return Read(command);
        }

        private JsonElement Read(string command)
        {
            string line = process.StandardOutput.ReadLine() ?? throw new InvalidOperationException($"{name} ended during '{command}': {Stderr()}");
            using var json = JsonDocument.Parse(line);
            if (json.RootElement.TryGetProperty("error", out var error))
                throw new InvalidOperationException($"{name}: {error.GetString()}");
            return json.RootElement.Clone();
        }

        private string Stderr()
        {
            lock (stderr) return stderr.ToString().Trim();
        }

        public void Dispose()
        {
            try
            {
                if (!process.HasExited)
                {
                    process.StandardInput.WriteLine("quit");
                    process.StandardInput.Flush();
                    if (!process.WaitForExit(TimeSpan.FromSeconds(30))) process.Kill();
                }
            }
            catch (IOException)
            {
                // The worker is already gone.
            }
            process.Dispose();
        }
    }

    private static string? FindRepoRoot()
    {
        foreach (var origin in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
            for (var dir = new DirectoryInfo(origin); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "OrleansBilevel.sln"))) return dir.FullName;
        return null;
    }

    // ------------------------------------------------------------------------------------------------ helpers

    private static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private static void WriteFloats(string path, Tensor<float> tensor)
    {
        var span = tensor.Span;
        var bytes = new byte[span.Length * sizeof(float)];
        for (int i = 0; i < span.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), span[i]);
        File.WriteAllBytes(path, bytes);
    }

    private static void WriteFloats(string dir, string name, Tensor<float> tensor) => WriteFloats(Path.Combine(dir, name), tensor);

    private static void WriteInts(string dir, string name, int[] values)
    {
        var bytes = new byte[values.Length * sizeof(int)];
        for (int i = 0; i < values.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(i * sizeof(int)), values[i]);
        File.WriteAllBytes(Path.Combine(dir, name), bytes);
    }

    private static float[] ReadFloats(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var values = new float[bytes.Length / sizeof(float)];
        for (int i = 0; i < values.Length; i++) values[i] = System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * sizeof(float)));
        return values;
    }

    private static double[] ReadDoubles(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var values = new double[bytes.Length / sizeof(double)];
        for (int i = 0; i < values.Length; i++) values[i] = System.Buffers.Binary.BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(i * sizeof(double)));
        return values;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
