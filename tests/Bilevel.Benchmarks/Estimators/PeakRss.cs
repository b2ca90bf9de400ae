using System.Globalization;

namespace Bilevel.Benchmarks.Estimators;

/// <summary>The growth of this process's peak RSS over one call (VmHWM after /proc/self/clear_refs, over VmRSS just before it).</summary>
internal static class PeakRss
{
    /// <summary>Runs <paramref name="prepare"/>, a full GC and <paramref name="call"/>, and returns the call's result with its RSS growth in MiB.</summary>
    public static (TResult Result, double Mib) Measure<TResult>(Func<TResult> call, Action? prepare = null)
    {
        ArgumentNullException.ThrowIfNull(call);
        prepare?.Invoke();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        File.WriteAllText("/proc/self/clear_refs", "5");
        long baseline = StatusKb("VmRSS");
        var result = call();
        long peak = StatusKb("VmHWM");
        return (result, Math.Max(0, peak - baseline) / 1024.0);
    }

    private static long StatusKb(string key)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(key + ":", StringComparison.Ordinal))
                return long.Parse(line[(key.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        throw new InvalidOperationException($"{key} is not in /proc/self/status");
    }
}
