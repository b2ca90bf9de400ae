using System.Diagnostics;
using System.Globalization;
using Bilevel.Nn;
using Bilevel.Tensors;

namespace Bilevel.Benchmarks;

/// <summary>
/// Forward+backward and one Hessian-vector product (forward-over-reverse) of the MLP 784-256-10 and the ConvNet
/// (width 128, batch 100, 1×28×28), ours vs PyTorch 1.13 on the same thread count, medians, in one run.
/// </summary>
public static class ModelBenchmark
{
    private const int Batch = 100;

    public static void Run(int threads, int repetitions, TextWriter output)
    {
        TensorEngine.ThreadCount = threads;
        output.WriteLine($"Models, float32, batch {Batch}, {threads} threads, median of ≥ {repetitions} calls, each side the same count (ms; ratio = ours / PyTorch)");
        output.WriteLine($"{"model",-10} {"what",-14} {"ours",10} {"pytorch",10} {"ratio",8}");
        foreach (var (name, model) in new (string, IModel)[] { ("mlp", new Mlp(784, 256, 10)), ("convnet", new ConvNet(1, 28, 28, 10)) })
        {
            var (fwdBwd, hvp, reps) = MeasureOurs(model, repetitions);
            var torch = TorchPeer.RunJson("bench_models.py", $"--model {name} --threads {threads} --batch {Batch} --reps {reps} --dtype float32");
            double torchFwdBwd = torch.GetProperty("fwd_bwd_s").GetDouble();
            double torchHvp = torch.GetProperty("hvp_best_s").GetDouble();
            Row(output, name, "forward+back", fwdBwd, torchFwdBwd);
            Row(output, name, "hvp", hvp, torchHvp);
        }
    }

    private static void Row(TextWriter output, string model, string what, double ours, double torch)
        => output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{model,-10} {what,-14} {ours * 1e3,10:F2} {torch * 1e3,10:F2} {ours / torch,8:F2}"));

    /// <summary>Our medians and the number of timed calls each took (the same count is asked of PyTorch).</summary>
    private static (double FwdBwd, double Hvp, int Repetitions) MeasureOurs(IModel model, int repetitions)
    {
        var random = new Random(3);
        var parameters = model.Initialize<float>(seed: 1);
        var xShape = model is Mlp ? new Shape(Batch, 784) : new Shape(Batch, 1, 28, 28);
        var x = Tensor<float>.FromSpan(Enumerable.Range(0, xShape.Length).Select(_ => (float)random.NextDouble()).ToArray(), xShape);
        var labels = Enumerable.Range(0, Batch).Select(_ => random.Next(10)).ToArray();
        var v = Tensor<float>.FromSpan(Enumerable.Range(0, parameters.Length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray(), parameters.Shape);
        Func<Tensor<float>[], Tensor<float>> loss = p => Ops.CrossEntropy(model.Forward(p[0], x), labels);

        // Millisecond calls get more timed repetitions (about TimedBudget per phase), so that a load burst moves
        // their median less.
        double perCall = Median(repetitions, () => Autodiff.ValueAndGrad(loss, parameters));
        int reps = Math.Clamp((int)(TimedBudget.TotalSeconds / perCall), repetitions, MaxRepetitions);
        double fwdBwd = Median(reps, () => Autodiff.ValueAndGrad(loss, parameters));
        double hvp = Median(reps, () => Autodiff.Jvp(p => Autodiff.Grad(loss, p), [parameters], [v]));
        return (fwdBwd, hvp, reps);
    }

    private static readonly TimeSpan TimedBudget = TimeSpan.FromSeconds(2);

    private const int MaxRepetitions = 401;

    /// <summary>
    /// Median seconds of <paramref name="repetitions"/> runs, each in its own scope, after a warm-up long enough
    /// (≥ 30 calls and ≥ 1 s) for the JIT's tiered compilation to reach its optimised code.
    /// </summary>
    private static double Median<TResult>(int repetitions, Func<TResult> body)
    {
        var warmup = Stopwatch.StartNew();
        for (int i = 0; i < 30 || warmup.Elapsed < TimeSpan.FromSeconds(1); i++)
        {
            using var scope = TensorScope.Begin();
            body();
        }
        var times = new double[repetitions];
        for (int r = 0; r < repetitions; r++)
        {
            using var scope = TensorScope.Begin();
            long start = Stopwatch.GetTimestamp();
            body();
            times[r] = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        Array.Sort(times);
        return times[repetitions / 2];
    }
}
