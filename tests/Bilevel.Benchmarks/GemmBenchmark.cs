using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Bilevel.Tensors;
using Bilevel.Tensors.Internal.Kernels;
using Bilevel.Tensors.Internal.Native;

namespace Bilevel.Benchmarks;

/// <summary>
/// float32 GEMM throughput: ours through <see cref="Gemm.Multiply"/> (OpenBLAS where installed), the managed
/// fallback on its own, and PyTorch's torch.matmul (tests/peer/gemm_bench.py) in the same run on the same machine.
/// Each figure is the median of at least 7 timed calls after a warm-up.
/// </summary>
public static class GemmBenchmark
{
    /// <summary>The system interpreter, which has torch; the pyenv python3 first on PATH does not.</summary>
    private const string Python = "/usr/bin/python3";

    private const string PeerScript = "tests/peer/gemm_bench.py";

    private const int MinRepetitions = 7;

    /// <summary>Repetitions grow for small shapes, up to about this much timed work per measurement.</summary>
    private static readonly TimeSpan TimedBudget = TimeSpan.FromSeconds(1);

    private static readonly (string Label, int M, int N, int K)[] Shapes =
    [
        ("256³", 256, 256, 256),
        ("1024³", 1024, 1024, 1024),
        ("8192×784 · 784×256", 8192, 256, 784),
    ];

    public static void Run(int threads, TextWriter output)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ArgumentNullException.ThrowIfNull(output);

        int previousThreads = TensorEngine.ThreadCount;
        TensorEngine.ThreadCount = threads;
        try
        {
            var rows = new List<(string Label, int M, int N, int K, int Reps, double Ours, double Managed)>();
            foreach (var (label, m, n, k) in Shapes)
            {
                var a = RandomMatrix(m * k, seed: 1);
                var b = RandomMatrix(k * n, seed: 2);
                var c = new float[m * n];
                var (ours, reps) = MedianSeconds(() => Gemm.Multiply(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n));
                var (managed, _) = MedianSeconds(
                    () => ManagedGemm.Multiply(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n, threads, ManagedGemm.DefaultKernel),
                    reps);
                rows.Add((label, m, n, k, reps, ours, managed));
            }

            var torch = RunTorch(threads, rows.Select(r => (r.M, r.N, r.K, r.Reps)).ToList(), out string? torchError);

            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"GEMM float32, {threads} thread(s); ours = {(Gemm.UsesNativeBlas ? $"OpenBLAS ({OpenBlas.CoreName} kernels, both sides)" : "managed")} via Gemm.Multiply, managed = {ManagedGemm.DefaultKernel} microkernel; GFLOP/s from median times"));
            output.WriteLine($"{"shape",-20} | {"ours",8} | {"torch",8} | {"ours/torch",10} | {"managed",8}");
            output.WriteLine(new string('-', 20) + "-+-" + new string('-', 8) + "-+-" + new string('-', 8) + "-+-" + new string('-', 10) + "-+-" + new string('-', 8));
            foreach (var row in rows)
            {
                double flops = 2.0 * row.M * row.N * row.K;
                double ours = flops / row.Ours / 1e9, managed = flops / row.Managed / 1e9;
                string torchText = "n/a", ratioText = "n/a";
                if (torch.TryGetValue((row.M, row.N, row.K), out double torchSeconds))
                {
                    double peer = flops / torchSeconds / 1e9;
                    torchText = peer.ToString("F1", CultureInfo.InvariantCulture);
                    ratioText = (ours / peer).ToString("F2", CultureInfo.InvariantCulture);
                }
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{row.Label,-20} | {ours,8:F1} | {torchText,8} | {ratioText,10} | {managed,8:F1}"));
            }
            if (torchError is not null)
                output.WriteLine($"torch column unavailable: {torchError}");
        }
        finally
        {
            TensorEngine.ThreadCount = previousThreads;
        }
    }

    /// <summary>
    /// Median seconds per call. Warm-up runs for at least 0.3 s so tiered compilation has produced optimised code;
    /// with no <paramref name="reps"/> given, the count is chosen from the warm-up's speed.
    /// </summary>
    private static (double Seconds, int Reps) MedianSeconds(Action call, int reps = 0)
    {
        var clock = Stopwatch.StartNew();
        int warmups = 0;
        while (warmups < 3 || clock.Elapsed < TimeSpan.FromSeconds(0.3))
        {
            call();
            warmups++;
        }
        if (reps == 0)
            reps = (int)Math.Clamp(TimedBudget / (clock.Elapsed / warmups), MinRepetitions, 201);

        var times = new double[reps];
        for (int i = 0; i < reps; i++)
        {
            long start = Stopwatch.GetTimestamp();
            call();
            times[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        Array.Sort(times);
        return (times[reps / 2], reps);
    }

    /// <summary>Median seconds per shape from the peer script, or an empty map and the reason it failed.</summary>
    private static Dictionary<(int M, int N, int K), double> RunTorch(
        int threads, List<(int M, int N, int K, int Reps)> shapes, out string? error)
    {
        var results = new Dictionary<(int, int, int), double>();
        string? script = FindPeerScript();
        if (script is null)
        {
            error = $"{PeerScript} not found above {AppContext.BaseDirectory}";
            return results;
        }

        // One process per shape so each gets the same repetition count as ours.
        foreach (var (m, n, k, reps) in shapes)
        {
            var start = new ProcessStartInfo(Python)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            TorchPeer.Configure(start);
            foreach (var argument in new[] { script, "--threads", Invariant(threads), "--reps", Invariant(reps), $"{m}x{n}x{k}" })
                start.ArgumentList.Add(argument);

            Process? process;
            try
            {
                process = Process.Start(start);
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                error = $"{Python} could not be started: {e.Message}";
                return results;
            }
            if (process is null)
            {
                error = $"{Python} could not be started";
                return results;
            }

            using (process)
            {
                var stderr = process.StandardError.ReadToEndAsync();
                string stdout = process.StandardOutput.ReadToEnd();
                process.WaitForExit();
                if (process.ExitCode != 0)
                {
                    error = $"{Python} {PeerScript} exited with {process.ExitCode}: {stderr.Result.Trim()}";
                    return results;
                }
                foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    using var json = JsonDocument.Parse(line);
                    var root = json.RootElement;
                    results[(root.GetProperty("m").GetInt32(), root.GetProperty("n").GetInt32(), root.GetProperty("k").GetInt32())] =
                        root.GetProperty("median_s").GetDouble();
                }
            }
        }
        error = null;
        return results;
    }

    private static string? FindPeerScript()
    {
        foreach (var origin in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var directory = new DirectoryInfo(origin); directory is not null; directory = directory.Parent)
            {
                string candidate = Path.Combine(directory.FullName, PeerScript);
                if (File.Exists(candidate))
                    return candidate;
            }
        }
        return null;
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static float[] RandomMatrix(int length, int seed)
    {
        var rng = new Random(seed);
        var values = new float[length];
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)rng.NextDouble() - 0.5f;
        return values;
    }
}
