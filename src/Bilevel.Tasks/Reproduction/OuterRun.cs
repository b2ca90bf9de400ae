using System.Diagnostics;
using System.Numerics;
using Bilevel.Hypergradients;
using Bilevel.Nn.Optimizers;
using Bilevel.Tensors;

namespace Bilevel.Tasks.Reproduction;

/// <summary>
/// The outer loop of <see cref="OuterLoop{T}"/> — estimate, refuse non-finite, diagnose, update φ — with the estimate
/// timed on its own (process CPU and wall), so that diagnostics do not count against the estimator.
/// </summary>
internal static class OuterRun
{
    public static RunRecord Run<T>(string task, string label, IBilevelProblem<T> problem, Func<IHypergradientEstimator> estimator,
        Func<OuterOptimizer> optimizer, int steps, Diagnostics? diagnostics, Action<RunRecord, Tensor<T>> evaluate, TextWriter log)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var instance = estimator();
        var record = new RunRecord(task, label, instance.Name);
        var outer = optimizer();
        using var scope = TensorScope.Begin();
        var phi = problem.InitialPhi();
        double cpu = 0, wall = 0;
        var clock = Stopwatch.StartNew();
        try
        {
            for (long k = 0; k < steps; k++)
            {
                using var stepScope = TensorScope.Begin();
                var cpuBefore = Environment.CpuUsage.TotalTime;
                long start = Stopwatch.GetTimestamp();
                var estimate = instance.Estimate(problem, phi, k);
                wall += Stopwatch.GetElapsedTime(start).TotalSeconds;
                cpu += (Environment.CpuUsage.TotalTime - cpuBefore).TotalSeconds;
                if (!estimate.IsFinite)
                {
                    record.Note = $"diverged at outer step {k} (non-finite hypergradient or loss {estimate.OuterLoss})";
                    break;
                }
                var diagnostic = diagnostics?.Observe(problem, phi, k, estimate);
                int phase = instance is TwoPhaseSchedule schedule ? (int)schedule.Phase : 0;
                outer.Step(phi, estimate.Gradient);
                record.Steps.Add(new StepRecord(k, estimate.OuterLoss, cpu, wall, diagnostic?.Cosine, estimate.Cost.PeakBytes, phase));
            }
        }
        catch (Exception e) when (e is NotSupportedException or ArgumentException && record.Steps.Count == 0)
        {
            // Refused at its first estimate: the estimator does not apply to this problem (a black-box solver, no KFAC
            // model, …). Say so in the table rather than fail the whole reproduction.
            record.Note = "n/a: " + e.Message;
            log.WriteLine($"  {task} / {label}: {record.Note}");
            return record;
        }
        evaluate(record, phi);
        log.WriteLine($"  {task} / {label}: {record.Steps.Count} steps, loss {Fmt(record.Steps.FirstOrDefault()?.OuterLoss)} → {Fmt(record.Steps.LastOrDefault()?.OuterLoss)}, "
            + $"{string.Join(", ", record.Metrics.Select(m => $"{m.Name} {m.Value}"))}, cos {Fmt(record.MeanCosine)}, {clock.Elapsed.TotalSeconds:F1} s");
        return record;
    }

    private static string Fmt(double? v) => v is { } x ? x.ToString("G4", System.Globalization.CultureInfo.InvariantCulture) : "—";
}
