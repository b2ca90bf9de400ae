using System.Data.Common;
using System.Text.Json;
using Bilevel.Contracts;
using Bilevel.Grid.Internal;

namespace Bilevel.Grid;

public abstract partial class RelationalGridStore
{
    public Task<ClaimedTrial?> ClaimAsync(ClaimRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.ThrowIfInvalid();
        return WriteAsync(async (connection, transaction, token) =>
        {
            var trial = await connection.Command(transaction, ClaimSql)
                .With("@owner", request.WorkerId)
                .With("@device_kind", StateNames.Of(request.DeviceKind))
                .With("@free_slots", request.FreeSlots)
                .With("@lease_ms", (int)Math.Ceiling(request.LeaseDuration.TotalMilliseconds))
                .SingleOrDefaultAsync(Rows.Trial, token).ConfigureAwait(false);
            if (trial is null)
                return null;
            var checkpoint = await connection.Command(transaction, Sql.Checkpoint).With("@trial_id", trial.Id)
                .SingleOrDefaultAsync(Rows.Checkpoint, token).ConfigureAwait(false);
            return new ClaimedTrial(new TrialLease(trial.Id, trial.Attempt, request.WorkerId), trial, checkpoint);
        }, cancellationToken);
    }

    public async Task<HeartbeatResult> HeartbeatAsync(TrialLease lease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        var rows = await WriteAsync((connection, transaction, token) =>
            Fenced(connection.Command(transaction, Sql.Heartbeat), lease)
                .ListAsync(r => (ExpiresAt: Dialect.ReadTime(r, 0), SweepState: r.GetString(1)), token), cancellationToken).ConfigureAwait(false);
        return rows.Count == 0
            ? HeartbeatResult.Lost
            : new HeartbeatResult(true, rows[0].SweepState == StateNames.Of(SweepState.Paused), rows[0].ExpiresAt);
    }

    public Task<LeaseWriteResult> SaveProgressAsync(TrialLease lease, TrialProgress progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(progress);
        ArgumentOutOfRangeException.ThrowIfNegative(progress.OuterStep);
        ThrowIfTooLarge(progress.Checkpoint);
        MetricSample.ThrowIfInvalid(progress.Metrics);
        return WriteAsync(async (connection, transaction, token) =>
        {
            var updated = await Fenced(connection.Command(transaction, Sql.Progress), lease)
                .With("@outer_step", progress.OuterStep)
                .ExecuteAsync(token).ConfigureAwait(false);
            if (updated == 0)
                return LeaseWriteResult.LeaseLost;
            await UpsertCheckpointAsync(connection, transaction, lease, progress.OuterStep, progress.Checkpoint, token).ConfigureAwait(false);
            await UpsertMetricsAsync(connection, transaction, lease.TrialId, progress.Metrics, token).ConfigureAwait(false);
            return LeaseWriteResult.Applied;
        }, cancellationToken);
    }

    public Task<LeaseWriteResult> SwitchPhaseAsync(TrialLease lease, int outerStep, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentOutOfRangeException.ThrowIfNegative(outerStep);
        return WriteAsync(async (connection, transaction, token) =>
            await Fenced(connection.Command(transaction, Sql.SwitchPhase), lease).With("@outer_step", outerStep)
                .ExecuteAsync(token).ConfigureAwait(false) == 0 ? LeaseWriteResult.LeaseLost : LeaseWriteResult.Applied,
            cancellationToken);
    }

    public Task<LeaseWriteResult> CompleteAsync(TrialLease lease, TrialCompletion completion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(completion);
        ArgumentOutOfRangeException.ThrowIfNegative(completion.OuterStep);
        if (completion.Result.ValueKind != JsonValueKind.Object)
            throw new ArgumentException("A trial's result is a JSON object.", nameof(completion));
        if (completion.FinalCheckpoint is not null)
            ThrowIfTooLarge(completion.FinalCheckpoint);
        MetricSample.ThrowIfInvalid(completion.Metrics);
        return WriteAsync(async (connection, transaction, token) =>
        {
            var sweepId = await LockSweepOfTrialAsync(connection, transaction, lease, token).ConfigureAwait(false);
            if (sweepId is null)
                return LeaseWriteResult.LeaseLost;
            var updated = await Fenced(connection.Command(transaction, Sql.Complete), lease)
                .With("@outer_step", completion.OuterStep)
                .With("@result", completion.Result.GetRawText())
                .ExecuteAsync(token).ConfigureAwait(false);
            if (updated == 0)
                return LeaseWriteResult.LeaseLost;
            await UpsertMetricsAsync(connection, transaction, lease.TrialId, completion.Metrics, token).ConfigureAwait(false);
            if (completion.FinalCheckpoint is not null)
                await UpsertCheckpointAsync(connection, transaction, lease, completion.OuterStep, completion.FinalCheckpoint, token).ConfigureAwait(false);
            await CompleteSweepIfDoneAsync(connection, transaction, sweepId.Value, token).ConfigureAwait(false);
            return LeaseWriteResult.Applied;
        }, cancellationToken);
    }

    public async Task<LeaseWriteResult> FailAsync(TrialLease lease, TrialFailure failure, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(failure);
        ArgumentException.ThrowIfNullOrWhiteSpace(failure.Reason);
        var (result, requeued) = await WriteAsync(async (connection, transaction, token) =>
        {
            var sweepId = await LockSweepOfTrialAsync(connection, transaction, lease, token).ConfigureAwait(false);
            if (sweepId is null)
                return (LeaseWriteResult.LeaseLost, false);
            var state = await Fenced(connection.Command(transaction, Sql.Fail), lease)
                .With("@error", failure.Describe())
                .With("@retry", failure.Retryable)
                .ScalarAsync<string>(token).ConfigureAwait(false);
            if (state is null)
                return (LeaseWriteResult.LeaseLost, false);
            var back = state == StateNames.Of(TrialState.Queued);
            if (back)
                await AnnounceWorkAsync(connection, transaction, token).ConfigureAwait(false);
            else
                await CompleteSweepIfDoneAsync(connection, transaction, sweepId.Value, token).ConfigureAwait(false);
            return (LeaseWriteResult.Applied, back);
        }, cancellationToken).ConfigureAwait(false);
        if (requeued)
            WorkCommitted();
        return result;
    }

    public async Task<LeaseWriteResult> ReleaseAsync(TrialLease lease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        var result = await WriteAsync(async (connection, transaction, token) =>
        {
            if (await Fenced(connection.Command(transaction, Sql.Release), lease).ExecuteAsync(token).ConfigureAwait(false) == 0)
                return LeaseWriteResult.LeaseLost;
            await AnnounceWorkAsync(connection, transaction, token).ConfigureAwait(false);
            return LeaseWriteResult.Applied;
        }, cancellationToken).ConfigureAwait(false);
        if (result == LeaseWriteResult.Applied)
            WorkCommitted();
        return result;
    }

    public async Task<ReapReport> ReapExpiredLeasesAsync(CancellationToken cancellationToken)
    {
        var report = await WriteAsync(async (connection, transaction, token) =>
        {
            if (!await TryElectReaperAsync(connection, transaction, token).ConfigureAwait(false))
                return ReapReport.NotElected;
            // Sweep rows first, in id order, as every other writer of a trial's end takes them: no deadlock.
            await connection.Command(transaction, Sql.LockSweepsWithExpiredLeases).ListAsync(r => r.GetInt64(0), token).ConfigureAwait(false);
            var failed = await connection.Command(transaction, Sql.FailExpired)
                .ListAsync(r => (Trial: r.GetInt64(0), Sweep: r.GetInt64(1)), token).ConfigureAwait(false);
            var requeued = await connection.Command(transaction, Sql.RequeueExpired)
                .ListAsync(r => r.GetInt64(0), token).ConfigureAwait(false);
            foreach (var sweepId in failed.Select(f => f.Sweep).Distinct())
                await CompleteSweepIfDoneAsync(connection, transaction, sweepId, token).ConfigureAwait(false);
            await connection.Command(transaction, Sql.ForgetStaleWorkers)
                .With("@stale_ms", (long)Options.ForgetWorkersAfter.TotalMilliseconds)
                .ExecuteAsync(token).ConfigureAwait(false);
            if (requeued.Count > 0)
                await AnnounceWorkAsync(connection, transaction, token).ConfigureAwait(false);
            return new ReapReport(true, requeued, failed.Select(f => f.Trial).ToArray());
        }, cancellationToken).ConfigureAwait(false);
        if (report.Requeued.Count > 0)
            WorkCommitted();
        return report;
    }

    private static DbCommand Fenced(DbCommand command, TrialLease lease) =>
        command.With("@trial_id", lease.TrialId).With("@attempt", lease.Attempt).With("@owner", lease.Owner);

    // Lock order everywhere a trial ends: the sweep's row, then the trial's.
    private async Task<long?> LockSweepOfTrialAsync(DbConnection connection, DbTransaction transaction, TrialLease lease, CancellationToken cancellationToken)
    {
        var rows = await connection.Command(transaction, Sql.LockSweepOfTrial).With("@trial_id", lease.TrialId)
            .ListAsync(r => r.GetInt64(0), cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    private Task UpsertCheckpointAsync(
        DbConnection connection, DbTransaction transaction, TrialLease lease, int outerStep, byte[] payload, CancellationToken cancellationToken) =>
        connection.Command(transaction, Sql.UpsertCheckpoint)
            .With("@trial_id", lease.TrialId)
            .With("@attempt", lease.Attempt)
            .With("@outer_step", outerStep)
            .With("@payload", payload)
            .ExecuteAsync(cancellationToken);

    private async Task UpsertMetricsAsync(
        DbConnection connection, DbTransaction transaction, long trialId, IReadOnlyList<MetricSample> metrics, CancellationToken cancellationToken)
    {
        if (metrics.Count == 0)
            return;
        await using var command = connection.Command(transaction, Sql.UpsertMetric).With("@trial_id", trialId);
        var name = command.Parameter("@name");
        var step = command.Parameter("@step");
        var value = command.Parameter("@value");
        foreach (var metric in metrics)
        {
            name.Value = metric.Name;
            step.Value = metric.Step;
            value.Value = metric.Value;
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private void ThrowIfTooLarge(byte[] checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        if (checkpoint.Length > Options.MaxCheckpointBytes)
            throw new ArgumentException($"The checkpoint is {checkpoint.Length} bytes; at most {Options.MaxCheckpointBytes} are stored.", nameof(checkpoint));
    }
}
