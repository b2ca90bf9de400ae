using System.Globalization;
using System.Text.Json;
using Bilevel.Contracts;
using Spectre.Console;

namespace Bilevel.Cli;

/// <summary>Tables and values as the CLI prints them.</summary>
internal static class Render
{
    public static string Wire<T>(T value) where T : struct, Enum => JsonSerializer.Serialize(value, ContractJson.Options).Trim('"');

    public static string Json<T>(T value) => JsonSerializer.Serialize(value, new JsonSerializerOptions(ContractJson.Options) { WriteIndented = true });

    public static string Number(double value) => value.ToString("G6", CultureInfo.InvariantCulture);

    public static string Params(JsonElement parameters) =>
        parameters.ValueKind == JsonValueKind.Object
            ? string.Join(" ", parameters.EnumerateObject().Select(p => $"{p.Name}={(p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : p.Value.GetRawText())}"))
            : "";

    public static string State(TrialState state) => state switch
    {
        TrialState.Completed => "[green]completed[/]",
        TrialState.Failed => "[red]failed[/]",
        TrialState.Running => "[blue]running[/]",
        TrialState.Cancelled => "[yellow]cancelled[/]",
        _ => "queued",
    };

    public static Table Sweep(SweepView sweep)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumn("sweep").AddColumn(Markup.Escape(sweep.Name));
        table.AddRow("id", sweep.Id.ToString(CultureInfo.InvariantCulture));
        table.AddRow("state", Wire(sweep.State));
        table.AddRow("task", Markup.Escape(sweep.Spec.Task.Kind));
        table.AddRow("estimator", Markup.Escape(sweep.Spec.Estimator?.Name
            ?? (sweep.Spec.Schedule is { } s ? $"{s.Phase1.Name} → {s.Phase2.Name}" : "")));
        table.AddRow("trials", $"{sweep.Trials.Total}: {sweep.Trials.Queued} queued, {sweep.Trials.Running} running, " +
            $"{sweep.Trials.Completed} completed, {sweep.Trials.Failed} failed, {sweep.Trials.Cancelled} cancelled");
        table.AddRow("outer steps", sweep.Spec.OuterSteps.ToString(CultureInfo.InvariantCulture));
        table.AddRow("created", sweep.CreatedAt.ToString("u", CultureInfo.InvariantCulture));
        if (sweep.FinishedAt is { } finished)
            table.AddRow("finished", finished.ToString("u", CultureInfo.InvariantCulture));
        return table;
    }

    public static Table Trials(IEnumerable<TrialView> trials)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumns("id", "#", "state", "phase", "step", "attempt", "params", "error");
        foreach (var t in trials)
        {
            table.AddRow(t.Id.ToString(CultureInfo.InvariantCulture), t.Number.ToString(CultureInfo.InvariantCulture), State(t.State),
                ((int)t.Phase).ToString(CultureInfo.InvariantCulture), t.OuterStep.ToString(CultureInfo.InvariantCulture),
                t.Attempt.ToString(CultureInfo.InvariantCulture), Markup.Escape(Params(t.Params)), Markup.Escape(Clip(t.Error ?? "", 60)));
        }
        return table;
    }

    public static string Clip(string text, int length) => text.Length <= length ? text : text[..(length - 1)] + "…";
}
