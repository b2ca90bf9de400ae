using Bilevel.Contracts;

namespace Bilevel.Grid;

/// <summary>Turns stored records into the API's views (the silo's responses, the client's models).</summary>
public static class ViewMapping
{
    public static SweepView ToView(this SweepRecord sweep)
    {
        ArgumentNullException.ThrowIfNull(sweep);
        return new(sweep.Id, sweep.Name, sweep.State, sweep.Priority, sweep.Device, sweep.Trials,
            sweep.CreatedAt, sweep.UpdatedAt, sweep.FinishedAt, sweep.Spec);
    }

    public static TrialView ToView(this TrialRecord trial)
    {
        ArgumentNullException.ThrowIfNull(trial);
        return new(trial.Id, trial.SweepId, trial.Number, trial.Params, trial.Seed, trial.State, trial.Phase,
            trial.PhaseSwitchStep, trial.OuterStep, trial.Attempt, trial.Failures, trial.MaxAttempts, trial.LeaseOwner,
            trial.LeaseExpiresAt, trial.HeartbeatAt, trial.Result, trial.Error, trial.CreatedAt, trial.StartedAt, trial.FinishedAt);
    }

    public static MetricPointView ToView(this MetricSample metric)
    {
        ArgumentNullException.ThrowIfNull(metric);
        return new(metric.Name, metric.Step, metric.Value);
    }

    public static BestTrialView ToView(this BestTrial best)
    {
        ArgumentNullException.ThrowIfNull(best);
        return new(best.Trial.ToView(), best.Metric, best.Goal, best.Step, best.Value);
    }

    public static WorkerView ToView(this WorkerRecord worker)
    {
        ArgumentNullException.ThrowIfNull(worker);
        return new(worker.Id, worker.Host, worker.ProcessId, worker.DeviceKind, worker.Slots, worker.RunningTrials,
            worker.StartedAt, worker.LastHeartbeat, worker.SinceHeartbeat.TotalSeconds);
    }

    public static PageView<TView> Map<TRecord, TView>(this PageView<TRecord> page, Func<TRecord, TView> map)
    {
        ArgumentNullException.ThrowIfNull(page);
        return new(page.Items.Select(map).ToArray(), page.NextCursor, page.Total);
    }
}
