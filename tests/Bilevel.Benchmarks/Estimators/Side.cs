using System.Text.Json;

namespace Bilevel.Benchmarks.Estimators;

/// <summary>The calls one side made through its worker: warm-up and timed (wall and CPU seconds).</summary>
/// <param name="estimator">The estimator argument of its "time" commands (PyTorch's worker serves them all; ours: "").</param>
internal sealed class Side(WorkerProcess worker, string estimator)
{
    public int WarmupCalls { get; private set; }

    public double WarmupSeconds { get; private set; }

    public List<double> Seconds { get; } = [];

    public List<double> CpuSeconds { get; } = [];

    public double MeanWarmupSeconds => WarmupSeconds / Math.Max(1, WarmupCalls);

    /// <summary>One untimed call, counted in the warm-up.</summary>
    public JsonElement Warm(string command)
    {
        var reply = worker.Command(command);
        WarmupCalls++;
        WarmupSeconds += reply.GetProperty("s").GetDouble();
        return reply;
    }

    /// <summary>"time" calls until <see cref="TimingPolicy.WarmingUp"/> says the warm-up is over.</summary>
    public void WarmUp()
    {
        while (TimingPolicy.WarmingUp(WarmupCalls, WarmupSeconds)) Warm($"time {estimator}");
    }

    public JsonElement Time()
    {
        var reply = worker.Command($"time {estimator}");
        Seconds.Add(reply.GetProperty("s").GetDouble());
        CpuSeconds.Add(reply.GetProperty("cpu_s").GetDouble());
        return reply;
    }
}
