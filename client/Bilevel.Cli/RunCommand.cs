using System.CommandLine;
using System.Globalization;
using Bilevel.Contracts;
using Bilevel.Grid;
using Spectre.Console;

namespace Bilevel.Cli;

/// <summary>
/// <c>bilevel run SPEC</c>: a whole sweep in this process on the embedded SQLite store — the spec checked here
/// (errors name the field), its trials run by in-process worker slots (<see cref="ILocalWorkers"/>), one live
/// progress bar per running trial (outer step / budget, current loss) and one for the sweep, then a results table,
/// best first. The database stays behind, so <c>bilevel silo --store sqlite --sqlite FILE</c> serves the results.
/// </summary>
internal static class RunCommand
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);
    private static readonly string[] PreferredMetrics = ["loss", "outer_loss", "outerLoss", "val_loss"];

    public static Command Create(CliContext context)
    {
        var spec = new Argument<FileInfo>("SPEC") { Description = "The sweep spec: a .json, .yaml or .yml file" };
        var db = new Option<FileInfo>("--db") { Description = "The SQLite database to run in", DefaultValueFactory = _ => new FileInfo("bilevel-run.db") };
        var slots = new Option<int>("--slots") { Description = "Trials run at once", DefaultValueFactory = _ => Math.Max(1, Environment.ProcessorCount) };
        var metric = new Option<string?>("--metric") { Description = "The metric shown and ranked by, lower is better (default: loss, or the first one recorded)" };
        var run = new Command("run", "Run a sweep in this process on an embedded SQLite store, with live progress and a results table") { spec, db, slots, metric };
        run.SetAction((parse, ct) => context.GuardAsync(async () =>
        {
            var file = parse.GetValue(spec)!;
            var text = await RemoteCommands.ReadSpecAsync(file, ct).ConfigureAwait(false);
            var read = new SweepSpecReader(EstimatorNames.All).Read(text, SweepSpecReader.FormatOfFile(file.Name));
            if (!read.IsValid)
            {
                foreach (var error in read.Errors)
                    await context.Error.WriteLineAsync($"error: {error.Path}: {error.Message}").ConfigureAwait(false);
                return BilevelCli.Failed;
            }
            var slotCount = parse.GetValue(slots);
            if (slotCount is < 1 or > 1024)
                throw new CliException("--slots", $"must be from 1 to 1024; got {slotCount}");
            var workers = context.Workers ?? throw new CliException("run",
                "this build has no in-process trial runner yet (src/Bilevel.Grid/Running); submit the spec to a silo with 'bilevel sweep submit' instead");
            await using var store = new SqliteGridStore(new SqliteGridStoreOptions { DatabasePath = parse.GetValue(db)!.FullName });
            await store.MigrateAsync(ct).ConfigureAwait(false);
            var sweep = await store.CreateSweepAsync(read.Spec, ct).ConfigureAwait(false);
            context.Console.MarkupLine($"Sweep [bold]{sweep.Id}[/] ({Markup.Escape(sweep.Name)}): {sweep.Trials.Total} trials, {slotCount} slots, store {Markup.Escape(parse.GetValue(db)!.FullName)}");

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var running = Task.Run(() => workers.RunAsync(store, slotCount, stop.Token), CancellationToken.None);
            SweepRecord finished;
            try
            {
                finished = await ShowProgressAsync(context.Console, store, sweep, parse.GetValue(metric), running, ct).ConfigureAwait(false);
            }
            finally
            {
                // Also on Ctrl+C: the workers checkpoint their trials and release them before the store closes.
                await stop.CancelAsync().ConfigureAwait(false);
                try
                {
                    await running.ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                }
                if (ct.IsCancellationRequested)
                {
                    context.Console.MarkupLine($"Interrupted: running trials were checkpointed. Sweep {sweep.Id} stays in {Markup.Escape(parse.GetValue(db)!.FullName)}; " +
                        $"'bilevel silo --sqlite {Markup.Escape(parse.GetValue(db)!.FullName)}' carries it on.");
                }
            }
            var final = await store.GetSweepAsync(sweep.Id, CancellationToken.None).ConfigureAwait(false) ?? finished;
            await WriteResultsAsync(context.Console, store, final, parse.GetValue(metric), CancellationToken.None).ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
            return final.Trials.Failed > 0 ? BilevelCli.Failed : 0;
        }));
        return run;
    }

    /// <summary>Polls the store and draws bars until no trial is queued or running (or the workers stop).</summary>
    private static async Task<SweepRecord> ShowProgressAsync(
        IAnsiConsole console, IGridStore store, SweepRecord sweep, string? metric, Task workers, CancellationToken cancellationToken)
    {
        var current = sweep;
        await console.Progress()
            .AutoClear(false)
            .HideCompleted(true)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async progress =>
            {
                var total = progress.AddTask($"sweep {sweep.Id}", maxValue: Math.Max(1, sweep.Trials.Total));
                total.IsIndeterminate = false;
                var bars = new Dictionary<long, ProgressTask>();
                while (true)
                {
                    current = await store.GetSweepAsync(sweep.Id, cancellationToken).ConfigureAwait(false) ?? current;
                    var counts = current.Trials;
                    total.Value = counts.Completed + counts.Failed + counts.Cancelled;
                    total.Description = $"sweep {sweep.Id}: {counts.Completed} done, {counts.Running} running, {counts.Queued} queued" +
                        (counts.Failed > 0 ? $", [red]{counts.Failed} failed[/]" : "");
                    var page = await store.ListTrialsAsync(new TrialListRequest
                    {
                        SweepId = sweep.Id, States = [TrialState.Running], PageSize = PagingLimits.MaxPageSize,
                    }, cancellationToken).ConfigureAwait(false);
                    foreach (var trial in page.Items)
                    {
                        if (!bars.TryGetValue(trial.Id, out var bar))
                            bars[trial.Id] = bar = progress.AddTask($"trial #{trial.Number}", maxValue: sweep.Spec.OuterSteps);
                        var loss = await LastValueAsync(store, trial, sweep.Spec.CheckpointInterval, metric, cancellationToken).ConfigureAwait(false);
                        bar.Value = trial.OuterStep;
                        bar.Description = $"trial #{trial.Number} step {trial.OuterStep}/{sweep.Spec.OuterSteps}" +
                            (loss is { } l ? $" {Markup.Escape(l.Name)} {Render.Number(l.Value)}" : "");
                    }
                    foreach (var (id, bar) in bars.Where(b => !page.Items.Any(t => t.Id == b.Key)).ToList())
                    {
                        bar.Value = bar.MaxValue;
                        bar.StopTask();
                        bars.Remove(id);
                    }
                    if (counts.Queued + counts.Running == 0 || workers.IsCompleted)
                        break;
                    await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
                }
                total.StopTask();
            }).ConfigureAwait(false);
        return current;
    }

    private static async Task WriteResultsAsync(IAnsiConsole console, IGridStore store, SweepRecord sweep, string? metric, CancellationToken cancellationToken)
    {
        var rows = new List<(TrialRecord Trial, (string Name, double Value)? Loss)>();
        string? cursor = null;
        do
        {
            var page = await store.ListTrialsAsync(new TrialListRequest
            {
                SweepId = sweep.Id, SortBy = TrialSortField.Number, PageSize = PagingLimits.MaxPageSize, Cursor = cursor,
            }, cancellationToken).ConfigureAwait(false);
            foreach (var trial in page.Items)
                rows.Add((trial, await LastValueAsync(store, trial, sweep.Spec.CheckpointInterval, metric, cancellationToken).ConfigureAwait(false)));
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        var name = metric ?? rows.Select(r => r.Loss?.Name).FirstOrDefault(n => n is not null) ?? "loss";
        var table = new Table().Border(TableBorder.Rounded).Title($"sweep {sweep.Id} ({Markup.Escape(sweep.Name)}): {Render.Wire(sweep.State)}")
            .AddColumns("#", "params", "seed", "state", "steps", Markup.Escape("final " + name), "error");
        foreach (var (trial, loss) in rows.OrderBy(r => r.Loss is { } l && double.IsFinite(l.Value) ? l.Value : double.PositiveInfinity).ThenBy(r => r.Trial.Number))
        {
            table.AddRow(trial.Number.ToString(CultureInfo.InvariantCulture), Markup.Escape(Render.Params(trial.Params)),
                trial.Seed.ToString(CultureInfo.InvariantCulture), Render.State(trial.State),
                trial.OuterStep.ToString(CultureInfo.InvariantCulture), loss is { } l ? Render.Number(l.Value) : "",
                Markup.Escape(Render.Clip(trial.Error ?? "", 60)));
        }
        console.Write(table);
        var counts = sweep.Trials;
        console.MarkupLine($"{counts.Completed} completed, {counts.Failed} failed, {counts.Cancelled} cancelled, {counts.Queued + counts.Running} unfinished.");
    }

    /// <summary>The trial's latest value of the metric (or of the first preferred one it recorded), within its last checkpoint interval.</summary>
    private static async Task<(string Name, double Value)?> LastValueAsync(
        IGridStore store, TrialRecord trial, int interval, string? metric, CancellationToken cancellationToken)
    {
        if (trial.OuterStep == 0)
            return null;
        var metrics = await store.GetMetricsAsync(new MetricsRequest
        {
            TrialId = trial.Id,
            Names = metric is null ? null : [metric],
            FromStep = Math.Max(0, trial.OuterStep - Math.Max(1, interval)),
            Limit = MetricsRequest.MaxLimit,
        }, cancellationToken).ConfigureAwait(false);
        if (metrics.Count == 0)
            return null;
        var chosen = metric ?? PreferredMetrics.FirstOrDefault(p => metrics.Any(m => m.Name == p)) ?? metrics[0].Name;
        var last = metrics.Where(m => m.Name == chosen).MaxBy(m => m.Step);
        return last is null ? null : (chosen, last.Value);
    }
}
