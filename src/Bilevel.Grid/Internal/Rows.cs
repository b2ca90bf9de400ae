using System.Data.Common;
using System.Text.Json;
using Bilevel.Contracts;

namespace Bilevel.Grid.Internal;

/// <summary>Maps result rows to records, by the column orders of <see cref="GridSql"/>.</summary>
internal sealed class Rows(SqlDialect dialect)
{
    /// <summary>A trial from <see cref="GridSql.TrialColumns"/> starting at column 0.</summary>
    public TrialRecord Trial(DbDataReader r) => new(
        Id: r.GetInt64(0),
        SweepId: r.GetInt64(1),
        Number: r.GetInt32(2),
        Params: ParseJson(r.GetString(3)),
        Seed: r.GetInt64(4),
        State: StateNames.TrialStateOf(r.GetString(5)),
        Phase: (TrialPhase)r.GetInt32(6),
        PhaseSwitchStep: r.IsDBNull(7) ? null : r.GetInt32(7),
        OuterStep: r.GetInt32(8),
        Attempt: r.GetInt32(9),
        Failures: r.GetInt32(10),
        MaxAttempts: r.GetInt32(11),
        Priority: r.GetInt32(12),
        Device: new DeviceRequirement(StateNames.DeviceKindOf(r.GetString(13)), r.GetInt32(14)),
        LeaseOwner: r.IsDBNull(15) ? null : r.GetString(15),
        LeaseExpiresAt: dialect.ReadNullableTime(r, 16),
        HeartbeatAt: dialect.ReadNullableTime(r, 17),
        Result: r.IsDBNull(18) ? null : ParseJson(r.GetString(18)),
        Error: r.IsDBNull(19) ? null : r.GetString(19),
        CreatedAt: dialect.ReadTime(r, 20),
        StartedAt: dialect.ReadNullableTime(r, 21),
        FinishedAt: dialect.ReadNullableTime(r, 22));

    /// <summary>A sweep from <see cref="GridSql.SweepWithCounts"/>.</summary>
    public SweepRecord Sweep(DbDataReader r) => new(
        Id: r.GetInt64(0),
        Name: r.GetString(1),
        Spec: JsonSerializer.Deserialize<SweepSpec>(r.GetString(2), ContractJson.Options)
              ?? throw new InvalidDataException($"Sweep {r.GetInt64(0)} has no spec."),
        State: StateNames.SweepStateOf(r.GetString(3)),
        Priority: r.GetInt32(4),
        Device: new DeviceRequirement(StateNames.DeviceKindOf(r.GetString(5)), r.GetInt32(6)),
        Trials: new TrialCounts(Count(r, 10), Count(r, 11), Count(r, 12), Count(r, 13), Count(r, 14)),
        CreatedAt: dialect.ReadTime(r, 7),
        UpdatedAt: dialect.ReadTime(r, 8),
        FinishedAt: dialect.ReadNullableTime(r, 9));

    public CheckpointRecord Checkpoint(DbDataReader r) => new(
        TrialId: r.GetInt64(0),
        Attempt: r.GetInt32(1),
        OuterStep: r.GetInt32(2),
        Payload: r.GetFieldValue<byte[]>(3),
        CreatedAt: dialect.ReadTime(r, 4));

    public WorkerRecord Worker(DbDataReader r) => new(
        Id: r.GetString(0),
        Host: r.GetString(1),
        ProcessId: r.GetInt32(2),
        DeviceKind: StateNames.DeviceKindOf(r.GetString(3)),
        Slots: r.GetInt32(4),
        RunningTrials: Count(r, 5),
        StartedAt: dialect.ReadTime(r, 6),
        LastHeartbeat: dialect.ReadTime(r, 7),
        SinceHeartbeat: TimeSpan.FromMilliseconds(Math.Max(0, Convert.ToDouble(r.GetValue(8), System.Globalization.CultureInfo.InvariantCulture))));

    public static MetricSample Metric(DbDataReader r) => new(r.GetString(0), r.GetInt32(1), r.GetDouble(2));

    // COUNT and SUM are bigint in PostgreSQL, integer in SQLite.
    private static int Count(DbDataReader r, int ordinal) => checked((int)Convert.ToInt64(r.GetValue(ordinal), System.Globalization.CultureInfo.InvariantCulture));

    private static JsonElement ParseJson(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
