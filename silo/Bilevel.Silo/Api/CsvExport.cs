using System.Globalization;
using System.Text;
using System.Text.Json;
using Bilevel.Contracts;
using Bilevel.Grid;

namespace Bilevel.Silo.Api;

/// <summary>
/// <c>GET /api/sweeps/{sweepId}/export.csv</c>: one row per trial, in trial-number order. Columns: the trial's
/// identity and state (<c>trial_id, number, seed, state, phase, outer_step, attempt, started_at, finished_at</c>),
/// one <c>param.NAME</c> column per searched parameter, one <c>result.KEY</c> column per top-level field of the
/// trials' results, one <c>metric.NAME</c> column per metric holding its last value (the latest step within the
/// trial's last checkpoint interval), and <c>error</c>. RFC 4180 quoting; text that a spreadsheet would read as a
/// formula is prefixed with an apostrophe.
/// </summary>
internal static class CsvExport
{
    public const string ContentType = "text/csv";
    private const int PageSize = PagingLimits.MaxPageSize;

    public static async Task<IResult> ExportAsync(HttpRequest request, IGridStore store, CancellationToken cancellationToken)
    {
        var query = new QueryReader(request);
        var sweepId = query.RouteId("sweepId");
        if (!query.IsValid)
            return query.Problem();
        var sweep = await store.GetSweepAsync(sweepId, cancellationToken).ConfigureAwait(false);
        if (sweep is null)
            return Problems.SweepNotFound(sweepId);

        var rows = new List<(TrialRecord Trial, Dictionary<string, double> Metrics)>();
        string? cursor = null;
        do
        {
            var page = await store.ListTrialsAsync(new TrialListRequest
            {
                SweepId = sweepId,
                SortBy = TrialSortField.Number,
                PageSize = PageSize,
                Cursor = cursor,
            }, cancellationToken).ConfigureAwait(false);
            foreach (var trial in page.Items)
                rows.Add((trial, await FinalMetricsAsync(store, trial, sweep.Spec.CheckpointInterval, cancellationToken).ConfigureAwait(false)));
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        var parameters = sweep.Spec.Search.Parameters.Keys.Order(StringComparer.Ordinal).ToArray();
        var resultKeys = rows.Where(r => r.Trial.Result is { ValueKind: JsonValueKind.Object })
            .SelectMany(r => r.Trial.Result!.Value.EnumerateObject().Select(p => p.Name))
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var metricNames = rows.SelectMany(r => r.Metrics.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();

        var csv = new StringBuilder();
        WriteRow(csv, ["trial_id", "number", "seed", "state", "phase", "outer_step", "attempt", "started_at", "finished_at",
            .. parameters.Select(p => "param." + p), .. resultKeys.Select(k => "result." + k), .. metricNames.Select(m => "metric." + m), "error"]);
        foreach (var (trial, metrics) in rows)
        {
            WriteRow(csv, [
                Number(trial.Id), Number(trial.Number), Number(trial.Seed), QueryReader.WireName(trial.State), Number((int)trial.Phase),
                Number(trial.OuterStep), Number(trial.Attempt), Time(trial.StartedAt), Time(trial.FinishedAt),
                .. parameters.Select(p => Field(trial.Params, p)),
                .. resultKeys.Select(k => trial.Result is { ValueKind: JsonValueKind.Object } result ? Field(result, k) : ""),
                .. metricNames.Select(m => metrics.TryGetValue(m, out var v) ? v.ToString("R", CultureInfo.InvariantCulture) : ""),
                trial.Error ?? ""]);
        }
        request.HttpContext.Response.Headers.ContentDisposition = $"attachment; filename=\"sweep-{sweepId}.csv\"";
        return TypedResults.Text(csv.ToString(), ContentType + "; charset=utf-8", Encoding.UTF8);
    }

    private static async Task<Dictionary<string, double>> FinalMetricsAsync(IGridStore store, TrialRecord trial, int interval, CancellationToken cancellationToken)
    {
        var last = new Dictionary<string, double>(StringComparer.Ordinal);
        if (trial.OuterStep == 0)
            return last;
        var metrics = await store.GetMetricsAsync(new MetricsRequest
        {
            TrialId = trial.Id,
            FromStep = Math.Max(0, trial.OuterStep - Math.Max(1, interval)),
            ToStep = trial.OuterStep,
            Limit = MetricsRequest.MaxLimit,
        }, cancellationToken).ConfigureAwait(false);
        // Ordered by name, then step: the last of each name wins.
        foreach (var metric in metrics)
            last[metric.Name] = metric.Value;
        return last;
    }

    private static string Field(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var value)
            ? value.ValueKind switch
            {
                JsonValueKind.String => value.GetString() ?? "",
                JsonValueKind.Null => "",
                _ => value.GetRawText(),
            }
            : "";

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Time(DateTimeOffset? time) => time?.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture) ?? "";

    private static void WriteRow(StringBuilder csv, IReadOnlyList<string> fields)
    {
        for (var i = 0; i < fields.Count; i++)
        {
            if (i > 0)
                csv.Append(',');
            csv.Append(Escape(fields[i]));
        }
        csv.Append("\r\n");
    }

    internal static string Escape(string field)
    {
        if (field.Length > 0 && "=+-@\t\r".Contains(field[0], StringComparison.Ordinal)
            && !double.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
        {
            field = "'" + field;
        }
        return field.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : field;
    }
}
