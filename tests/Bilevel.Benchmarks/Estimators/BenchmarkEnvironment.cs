using System.Globalization;

namespace Bilevel.Benchmarks.Estimators;

/// <summary>The environment variables that select what the estimator benchmark runs, and the one that makes it a worker.</summary>
internal static class BenchmarkEnvironment
{
    /// <summary>Set in our worker processes: "task|variant".</summary>
    public const string WorkerVariable = "BILEVEL_ESTIMATOR_BENCH_WORKER";

    public const string WidthVariable = "BILEVEL_BENCH_CONVNET_WIDTH";
    private const string TasksVariable = "BILEVEL_BENCH_TASKS";
    private const string EstimatorsVariable = "BILEVEL_BENCH_ESTIMATORS";

    /// <summary>"task|variant" in our worker processes; null in the benchmark itself.</summary>
    public static string? WorkerSpec() => Environment.GetEnvironmentVariable(WorkerVariable) is { Length: > 0 } spec ? spec : null;

    public static int ConvNetWidth()
        => Environment.GetEnvironmentVariable(WidthVariable) is { Length: > 0 } text ? int.Parse(text, CultureInfo.InvariantCulture) : EstimatorBenchmark.DefaultConvNetWidth;

    public static bool TaskSelected(string task) => Selected(TasksVariable, task);

    public static bool EstimatorSelected(string key) => Selected(EstimatorsVariable, key);

    /// <summary>Whether <paramref name="name"/> is in the comma-separated list of <paramref name="variable"/> (all when unset).</summary>
    private static bool Selected(string variable, string name)
        => Environment.GetEnvironmentVariable(variable) is not { Length: > 0 } list || list.Split(',', StringSplitOptions.TrimEntries).Contains(name);
}
