using Bilevel.Contracts;

namespace Bilevel.Grid.Internal;

/// <summary>
/// The statements both stores run, written once with the dialect's clock and JSON filled in. Values are always
/// parameters; the only text spliced in comes from the dialect and from the state tables of the state machines.
/// </summary>
internal sealed class GridSql
{
    public const string TrialColumns =
        "id, sweep_id, number, params, seed, state, phase, phase_switch_step, outer_step, attempt, failures, " +
        "max_attempts, priority, device_kind, slots, lease_owner, lease_expires_at, heartbeat_at, result, error, " +
        "created_at, started_at, finished_at";

    public const string SweepColumns =
        "s.id, s.name, s.spec, s.state, s.priority, s.device_kind, s.slots, s.created_at, s.updated_at, s.finished_at";

    public GridSql(SqlDialect d)
    {
        var now = d.Now;
        var running = StateNames.Of(TrialState.Running);
        var unfinished = StateNames.SqlList(TrialStateMachine.Unfinished);
        // The fence: the lease named by the write must be the trial's current one, and unexpired by the database's clock.
        var fence = $"id = @trial_id AND attempt = @attempt AND lease_owner = @owner AND state = '{running}' AND lease_expires_at > {now}";
        const string clearLease = "lease_owner = NULL, lease_ms = NULL, lease_expires_at = NULL";
        var extendLease = $"lease_expires_at = {d.PlusMilliseconds(now, "lease_ms")}, heartbeat_at = {now}";

        InsertSweep =
            $"INSERT INTO sweeps (name, spec, state, priority, device_kind, slots, created_at, updated_at) " +
            $"VALUES (@name, {d.Json("@spec")}, '{StateNames.Of(SweepState.Active)}', @priority, @device_kind, @slots, {now}, {now}) RETURNING id";
        InsertTrialValues =
            $"INSERT INTO trials (sweep_id, number, params, seed, state, max_attempts, priority, device_kind, slots, created_at) " +
            $"VALUES (@sweep_id, @number, {d.Json("@params")}, @seed, '{StateNames.Of(TrialState.Queued)}', @max_attempts, @priority, @device_kind, @slots, {now})";
        SweepWithCounts =
            $"SELECT {SweepColumns}, " +
            string.Join(", ", Enum.GetValues<TrialState>().Select(s =>
                $"COALESCE(SUM(CASE WHEN t.state = '{StateNames.Of(s)}' THEN 1 ELSE 0 END), 0)")) +
            " FROM sweeps s LEFT JOIN trials t ON t.sweep_id = s.id";
        LockSweep = $"SELECT state FROM sweeps WHERE id = @sweep_id{d.ForUpdate}";
        LockSweepOfTrial = $"SELECT id FROM sweeps WHERE id = (SELECT sweep_id FROM trials WHERE id = @trial_id){d.ForUpdate}";
        SetSweepState =
            $"UPDATE sweeps SET state = @state, updated_at = {now}, " +
            $"finished_at = CASE WHEN @final THEN {now} ELSE NULL END WHERE id = @sweep_id";
        CancelTrialsOfSweep =
            $"UPDATE trials SET state = '{StateNames.Of(TrialState.Cancelled)}', error = 'the sweep was cancelled', {clearLease}, finished_at = {now} " +
            $"WHERE sweep_id = @sweep_id AND state IN {StateNames.SqlList(TrialStateMachine.Sources(TrialState.Cancelled))}";
        CompleteSweepIfDone =
            $"UPDATE sweeps SET state = '{StateNames.Of(SweepState.Completed)}', updated_at = {now}, finished_at = {now} " +
            $"WHERE id = @sweep_id AND state IN {StateNames.SqlList(SweepStateMachine.Sources(SweepState.Completed))} " +
            $"AND NOT EXISTS (SELECT 1 FROM trials WHERE sweep_id = @sweep_id AND state IN {unfinished})";

        Heartbeat =
            $"UPDATE trials SET {extendLease} WHERE {fence} " +
            "RETURNING lease_expires_at, (SELECT state FROM sweeps WHERE sweeps.id = trials.sweep_id)";
        Progress = $"UPDATE trials SET outer_step = @outer_step, {extendLease} WHERE {fence}";
        UpsertCheckpoint =
            $"INSERT INTO checkpoints (trial_id, attempt, outer_step, payload, created_at) VALUES (@trial_id, @attempt, @outer_step, @payload, {now}) " +
            "ON CONFLICT (trial_id) DO UPDATE SET attempt = excluded.attempt, outer_step = excluded.outer_step, " +
            "payload = excluded.payload, created_at = excluded.created_at";
        UpsertMetric =
            $"INSERT INTO metrics (trial_id, name, step, value, recorded_at) VALUES (@trial_id, @name, @step, @value, {now}) " +
            "ON CONFLICT (trial_id, name, step) DO UPDATE SET value = excluded.value, recorded_at = excluded.recorded_at";
        SwitchPhase =
            $"UPDATE trials SET phase = {(int)TrialPhase.Two}, phase_switch_step = COALESCE(phase_switch_step, @outer_step) WHERE {fence}";
        Complete =
            $"UPDATE trials SET state = '{StateNames.Of(TrialState.Completed)}', outer_step = @outer_step, result = {d.Json("@result")}, " +
            $"error = NULL, {clearLease}, finished_at = {now} WHERE {fence}";
        Fail =
            $"UPDATE trials SET failures = failures + 1, error = @error, {clearLease}, " +
            $"state = CASE WHEN @retry AND failures + 1 < max_attempts THEN '{StateNames.Of(TrialState.Queued)}' ELSE '{StateNames.Of(TrialState.Failed)}' END, " +
            $"finished_at = CASE WHEN @retry AND failures + 1 < max_attempts THEN NULL ELSE {now} END " +
            $"WHERE {fence} RETURNING state";
        Release = $"UPDATE trials SET state = '{StateNames.Of(TrialState.Queued)}', {clearLease} WHERE {fence}";
        Checkpoint = "SELECT trial_id, attempt, outer_step, payload, created_at FROM checkpoints WHERE trial_id = @trial_id";

        var expired = $"state = '{running}' AND lease_expires_at <= {now}";
        LockSweepsWithExpiredLeases =
            $"SELECT id FROM sweeps WHERE id IN (SELECT sweep_id FROM trials WHERE {expired}) ORDER BY id{d.ForUpdate}";
        FailExpired =
            $"UPDATE trials SET state = '{StateNames.Of(TrialState.Failed)}', failures = failures + 1, " +
            "error = 'the lease of ' || lease_owner || ' expired on attempt ' || CAST(attempt AS TEXT) || '; ' || " +
            "CAST(failures + 1 AS TEXT) || ' of ' || CAST(max_attempts AS TEXT) || ' allowed attempts have failed', " +
            $"{clearLease}, finished_at = {now} WHERE {expired} AND failures + 1 >= max_attempts RETURNING id, sweep_id";
        RequeueExpired =
            $"UPDATE trials SET state = '{StateNames.Of(TrialState.Queued)}', failures = failures + 1, " +
            "error = 'the lease of ' || lease_owner || ' expired on attempt ' || CAST(attempt AS TEXT), " +
            $"{clearLease} WHERE {expired} AND failures + 1 < max_attempts RETURNING id";
        ForgetStaleWorkers = $"DELETE FROM workers WHERE heartbeat_at < {d.PlusMilliseconds(now, "-@stale_ms")}";

        UpsertWorker =
            $"INSERT INTO workers (id, host, process_id, device_kind, slots, started_at, heartbeat_at) " +
            $"VALUES (@id, @host, @process_id, @device_kind, @slots, {now}, {now}) " +
            "ON CONFLICT (id) DO UPDATE SET host = excluded.host, process_id = excluded.process_id, " +
            "device_kind = excluded.device_kind, slots = excluded.slots, heartbeat_at = excluded.heartbeat_at";
        Workers =
            "SELECT w.id, w.host, w.process_id, w.device_kind, w.slots, " +
            $"(SELECT COUNT(*) FROM trials t WHERE t.state = '{running}' AND t.lease_owner = w.id), " +
            $"w.started_at, w.heartbeat_at, {d.MillisecondsBetween(now, "w.heartbeat_at")} FROM workers w";
        DeleteWorker = "DELETE FROM workers WHERE id = @id";

        BestTrial =
            $"SELECT {string.Join(", ", TrialColumns.Split(", ").Select(c => "t." + c))}, m.step, m.value " +
            "FROM trials t JOIN metrics m ON m.trial_id = t.id AND m.name = @metric " +
            $"WHERE t.sweep_id = @sweep_id AND t.state = '{StateNames.Of(TrialState.Completed)}' " +
            "AND m.step = (SELECT MAX(m2.step) FROM metrics m2 WHERE m2.trial_id = t.id AND m2.name = @metric) ";
    }

    public string InsertSweep { get; }
    public string InsertTrialValues { get; }
    public string SweepWithCounts { get; }
    public string LockSweep { get; }
    public string LockSweepOfTrial { get; }
    public string SetSweepState { get; }
    public string CancelTrialsOfSweep { get; }
    public string CompleteSweepIfDone { get; }
    public string Heartbeat { get; }
    public string Progress { get; }
    public string UpsertCheckpoint { get; }
    public string UpsertMetric { get; }
    public string SwitchPhase { get; }
    public string Complete { get; }
    public string Fail { get; }
    public string Release { get; }
    public string Checkpoint { get; }
    public string LockSweepsWithExpiredLeases { get; }
    public string FailExpired { get; }
    public string RequeueExpired { get; }
    public string ForgetStaleWorkers { get; }
    public string UpsertWorker { get; }
    public string Workers { get; }
    public string DeleteWorker { get; }

    /// <summary>Completed trials with their last value of @metric; the caller appends the order.</summary>
    public string BestTrial { get; }
}
