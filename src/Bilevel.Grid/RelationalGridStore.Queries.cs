using System.Text;
using Bilevel.Contracts;
using Bilevel.Grid.Internal;

namespace Bilevel.Grid;

public abstract partial class RelationalGridStore
{
    // The sort whitelist: request enums map to these column names; nothing else is ever spliced into ORDER BY.
    private static readonly Dictionary<TrialSortField, (string Column, Func<TrialRecord, long> Value)> SortColumns = new()
    {
        [TrialSortField.Id] = ("id", t => t.Id),
        [TrialSortField.Number] = ("number", t => t.Number),
        [TrialSortField.Priority] = ("priority", t => t.Priority),
        [TrialSortField.OuterStep] = ("outer_step", t => t.OuterStep),
        [TrialSortField.Attempt] = ("attempt", t => t.Attempt),
    };

    public Task<TrialRecord?> GetTrialAsync(long trialId, CancellationToken cancellationToken) =>
        ReadAsync((connection, token) => connection.Command(null, $"SELECT {GridSql.TrialColumns} FROM trials WHERE id = @trial_id")
            .With("@trial_id", trialId)
            .SingleOrDefaultAsync(Rows.Trial, token), cancellationToken);

    public Task<CheckpointRecord?> GetCheckpointAsync(long trialId, CancellationToken cancellationToken) =>
        ReadAsync((connection, token) => connection.Command(null, Sql.Checkpoint).With("@trial_id", trialId)
            .SingleOrDefaultAsync(Rows.Checkpoint, token), cancellationToken);

    public Task<PageView<TrialRecord>> ListTrialsAsync(TrialListRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ThrowIfInvalid(request.Validate());
        var (column, sortValue) = SortColumns[request.SortBy];
        TrialCursor? cursor = request.Cursor is null ? null : TrialCursor.Decode(request.Cursor, request.SortBy, request.Descending);
        var states = request.States?.Distinct().ToArray() ?? [];

        var filter = new StringBuilder(" WHERE 1 = 1");
        if (request.SweepId is not null)
            filter.Append(" AND sweep_id = @sweep_id");
        if (states.Length > 0)
            filter.Append(" AND state IN (").AppendJoin(", ", states.Select((_, i) => $"@state{i}")).Append(')');
        var direction = request.Descending ? "DESC" : "ASC";
        var keyset = cursor is null ? ""
            : column == "id" ? $" AND id {(request.Descending ? "<" : ">")} @after_id"
            : $" AND ({column}, id) {(request.Descending ? "<" : ">")} (@after_value, @after_id)";

        return ReadAsync(async (connection, token) =>
        {
            var count = BindFilter(connection.Command(null, $"SELECT COUNT(*) FROM trials{filter}"), request, states);
            var total = await count.ScalarAsync<long>(token).ConfigureAwait(false);
            var page = BindFilter(connection.Command(null,
                    $"SELECT {GridSql.TrialColumns} FROM trials{filter}{keyset} ORDER BY {column} {direction}, id {direction} LIMIT @limit OFFSET @offset"),
                    request, states)
                .WithIf(cursor is not null, "@after_id", () => cursor!.Value.Id)
                .WithIf(cursor is not null && column != "id", "@after_value", () => cursor!.Value.Value)
                .With("@limit", request.PageSize + 1)
                .With("@offset", request.Offset);
            var rows = await page.ListAsync(Rows.Trial, token).ConfigureAwait(false);
            var more = rows.Count > request.PageSize;
            if (more)
                rows.RemoveAt(rows.Count - 1);
            var next = more ? new TrialCursor(request.SortBy, request.Descending, sortValue(rows[^1]), rows[^1].Id).Encode() : null;
            return new PageView<TrialRecord>(rows, next, total);
        }, cancellationToken);
    }

    public Task<IReadOnlyList<MetricSample>> GetMetricsAsync(MetricsRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ThrowIfInvalid(request.Validate());
        var names = request.Names?.Distinct(StringComparer.Ordinal).ToArray() ?? [];
        var sql = new StringBuilder("SELECT name, step, value FROM metrics WHERE trial_id = @trial_id");
        if (names.Length > 0)
            sql.Append(" AND name IN (").AppendJoin(", ", names.Select((_, i) => $"@name{i}")).Append(')');
        if (request.FromStep is not null)
            sql.Append(" AND step >= @from_step");
        if (request.ToStep is not null)
            sql.Append(" AND step <= @to_step");
        sql.Append(" ORDER BY name, step LIMIT @limit");
        return ReadAsync<IReadOnlyList<MetricSample>>(async (connection, token) =>
        {
            var command = connection.Command(null, sql.ToString()).With("@trial_id", request.TrialId);
            for (var i = 0; i < names.Length; i++)
                command.With($"@name{i}", names[i]);
            return await command
                .WithIf(request.FromStep is not null, "@from_step", () => request.FromStep!.Value)
                .WithIf(request.ToStep is not null, "@to_step", () => request.ToStep!.Value)
                .With("@limit", request.Limit)
                .ListAsync(Rows.Metric, token).ConfigureAwait(false);
        }, cancellationToken);
    }

    public Task<BestTrial?> GetBestTrialAsync(long sweepId, string metric, MetricGoal goal, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(metric);
        var order = goal == MetricGoal.Maximize ? "DESC" : "ASC";
        return ReadAsync((connection, token) => connection.Command(null, $"{Sql.BestTrial}ORDER BY m.value {order}, t.id LIMIT 1")
            .With("@sweep_id", sweepId)
            .With("@metric", metric)
            .SingleOrDefaultAsync(r => new BestTrial(Rows.Trial(r), metric, goal, r.GetInt32(23), r.GetDouble(24)), token), cancellationToken);
    }

    private static System.Data.Common.DbCommand BindFilter(System.Data.Common.DbCommand command, TrialListRequest request, TrialState[] states)
    {
        command.WithIf(request.SweepId is not null, "@sweep_id", () => request.SweepId!.Value);
        for (var i = 0; i < states.Length; i++)
            command.With($"@state{i}", StateNames.Of(states[i]));
        return command;
    }
}
