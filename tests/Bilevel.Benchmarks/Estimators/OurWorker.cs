using System.Diagnostics;
using System.Text.Json;
using Bilevel.Hypergradients;
using Bilevel.Tensors;

namespace Bilevel.Benchmarks.Estimators;

/// <summary>
/// Our side of one variant, in a process of its own (this program with <c>BILEVEL_ESTIMATOR_BENCH_WORKER</c> =
/// "task|variant"), answering the commands of hypergrad_bench.py: "mem" (a call on the task, with its RSS
/// growth), "time", "grad PATH", "quit"; one JSON line each, {"error": …} for a command that failed.
/// </summary>
internal static class OurWorker
{
    private sealed record Call(double Seconds, double CpuSeconds, double Loss, long PeakBytes);

    public static int Serve(string spec, int threads, TextReader input, TextWriter output)
    {
        var parts = spec.Split('|');
        var variant = Variant.Find(parts[1]);
        if (variant.Core is { } core) PinTo(core);
        TensorEngine.ThreadCount = variant.EngineThreads ?? threads;
        int width = BenchmarkEnvironment.ConvNetWidth();
        // Compile the estimator's code paths on a tiny instance first, so that the JIT's memory is not counted.
        CallOurs(Workload.Build(parts[0], width, tiny: true), variant.Create);
        var workload = Workload.Build(parts[0], width, tiny: false);
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

    /// <summary>
    /// Pins this process's main thread, which runs the calls of a one-thread variant, to core <paramref name="core"/>
    /// (Linux's sched_setaffinity on the process id affects that thread alone).
    /// </summary>
    private static void PinTo(int core)
    {
        if (core >= Environment.ProcessorCount)
            throw new ArgumentException($"core {core} does not exist: this machine has {Environment.ProcessorCount}");
        if (OperatingSystem.IsLinux() || OperatingSystem.IsWindows())
            Process.GetCurrentProcess().ProcessorAffinity = (nint)(1L << core);
        else
            throw new PlatformNotSupportedException("pinning a worker to a core needs Linux or Windows");
    }

    private static Call CallOurs(Workload workload, Func<IHypergradientEstimator> create, string? gradientPath = null)
    {
        using var scope = TensorScope.Begin();
        var instance = create();
        var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        long start = Stopwatch.GetTimestamp();
        var estimate = instance.Estimate(workload.Problem, workload.Phi, Workload.OuterStep);
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        process.Refresh();
        double cpuSeconds = (process.TotalProcessorTime - cpu).TotalSeconds;
        if (gradientPath is not null) RawFiles.WriteFloats(gradientPath, estimate.Gradient);
        return new Call(seconds, cpuSeconds, estimate.OuterLoss, estimate.Cost.PeakBytes);
    }

    private static string Reply(Call call, double? rssMib = null)
    {
        var fields = new Dictionary<string, double> { ["s"] = call.Seconds, ["cpu_s"] = call.CpuSeconds, ["loss"] = call.Loss, ["peak_bytes"] = call.PeakBytes };
        if (rssMib is { } mib) fields["mib"] = mib;
        return JsonSerializer.Serialize(fields);
    }

    /// <summary>
    /// One call with the growth of the process's peak RSS over the RSS just before it, measured as PyTorch's side is:
    /// the benchmark asks after the warm-up, so that one-time costs — JIT tiers, the pages of OpenBLAS's per-thread
    /// packing buffers (5 MiB on the first hypercleaning GEMMs), the garbage-collected heap's first growth — are not
    /// counted as the estimator's memory; and with the allocator's idle memory given back first (PyTorch:
    /// malloc_trim, large blocks unmapped on free; ours: <see cref="TensorMemory.ReleaseIdle"/>), so that every
    /// buffer the call needs is faulted in afresh and counted.
    /// </summary>
    private static string Memory(Workload workload, Variant variant)
    {
        var (call, mib) = PeakRss.Measure(() => CallOurs(workload, variant.Create), prepare: () => TensorMemory.ReleaseIdle());
        return Reply(call, mib);
    }
}
