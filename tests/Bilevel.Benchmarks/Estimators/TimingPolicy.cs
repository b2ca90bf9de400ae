namespace Bilevel.Benchmarks.Estimators;

/// <summary>How long a side warms up, how many calls are timed, and what of them is reported.</summary>
internal static class TimingPolicy
{
    private const int WarmupCalls = 30;
    private const int MinWarmupCalls = 2;

    /// <summary>
    /// Long enough for the runtime's tiered JIT to have replaced the quick first-tier code of every method a call
    /// runs: a method called a few times per call (TensorPrimitives' sigmoid, exp and log kernels) is promoted only
    /// after 30 calls and a pause in new compilations, so hypercleaning KFAC took a median 237 ms over its first 10
    /// calls, 142 over the next 10 and 124–126 after that (with the JIT's tiers off, 119–136 from the first call).
    /// PyTorch's side, which compiles nothing, is warmed the same way.
    /// </summary>
    private static readonly TimeSpan WarmupTime = TimeSpan.FromSeconds(5);
    /// <summary>
    /// At least 5 timed calls per side: with 3, one slow call of a noisy machine's ±20% moved a condensation ratio by
    /// about 0.1 between runs (RGU 0.77 in one run and 0.64 in the next, same build).
    /// </summary>
    private const int MinReps = 5;
    private const int MaxReps = 9;

    /// <summary>Timed calls per side and estimator grow for cheap estimators up to about this much time.</summary>
    private static readonly TimeSpan TimedBudget = TimeSpan.FromSeconds(3);

    /// <summary>True while a warm-up of <paramref name="calls"/> calls taking <paramref name="seconds"/> must go on: fewer than 2 calls, or fewer than 30 and under 5 s.</summary>
    public static bool WarmingUp(int calls, double seconds)
        => calls < MinWarmupCalls || (calls < WarmupCalls && seconds < WarmupTime.TotalSeconds);

    /// <summary>Timed calls per side for calls of about <paramref name="secondsPerCall"/>: 5 to 9, about 3 s in all.</summary>
    public static int Repetitions(double secondsPerCall)
        => (int)Math.Clamp(Math.Ceiling(TimedBudget.TotalSeconds / Math.Max(secondsPerCall, 1e-6)), MinReps, MaxReps);

    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
