using System.CommandLine;
using System.Globalization;
using Bilevel.Contracts;
using Spectre.Console;

namespace Bilevel.Cli;

/// <summary>The commands that talk to a silo's HTTP API: <c>sweep …</c>, <c>trials …</c>, <c>results export</c>.</summary>
internal static class RemoteCommands
{
    // Query fields of the API as the options that set them.
    private static readonly Dictionary<string, string> TrialListFields = new(StringComparer.Ordinal)
    {
        ["$.state"] = "--state", ["$.sort"] = "--sort", ["$.pageSize"] = "--page-size", ["$.offset"] = "--page", ["$.sweepId"] = "--sweep",
    };

    public static Command Sweep(CliContext context)
    {
        var sweep = new Command("sweep", "Submit sweeps to a silo and steer them");

        var remote = new Remote();
        var spec = new Argument<FileInfo>("SPEC") { Description = "The sweep spec: a .json, .yaml or .yml file" };
        var submit = new Command("submit", "Submit a sweep spec; its trials are queued at once") { spec };
        remote.AddTo(submit, json: true);
        submit.SetAction((parse, ct) => context.GuardAsync(async () =>
        {
            var file = parse.GetValue(spec)!;
            var text = await ReadSpecAsync(file, ct).ConfigureAwait(false);
            using var client = remote.CreateClient(parse);
            var view = await client.SubmitSweepAsync(text, SweepSpecReader.FormatOfFile(file.Name), ct).ConfigureAwait(false);
            if (parse.GetValue(remote.Json))
            {
                context.Console.WriteLine(Render.Json(view));
                return 0;
            }
            context.Console.MarkupLine($"Submitted sweep [bold]{view.Id}[/] ({Markup.Escape(view.Name)}): {view.Trials.Total} trials queued.");
            context.Console.Write(Render.Sweep(view));
            return 0;
        }));
        sweep.Subcommands.Add(submit);

        var statusRemote = new Remote();
        var statusId = SweepId();
        var status = new Command("status", "Show a sweep: its state and trial counts") { statusId };
        statusRemote.AddTo(status, json: true);
        status.SetAction((parse, ct) => context.GuardAsync(async () =>
        {
            using var client = statusRemote.CreateClient(parse);
            var view = await client.GetSweepAsync(parse.GetValue(statusId), ct).ConfigureAwait(false);
            if (parse.GetValue(statusRemote.Json))
                context.Console.WriteLine(Render.Json(view));
            else
                context.Console.Write(Render.Sweep(view));
            return 0;
        }, new Dictionary<string, string> { ["sweepId"] = "ID" }));
        sweep.Subcommands.Add(status);

        foreach (var (verb, description) in new[] { ("pause", "Stop claims of the sweep's trials; running ones checkpoint and yield"), ("resume", "Let a paused sweep's trials be claimed again"), ("cancel", "Cancel the sweep and its unfinished trials") })
        {
            var moveRemote = new Remote();
            var id = SweepId();
            var move = new Command(verb, description) { id };
            moveRemote.AddTo(move);
            move.SetAction((parse, ct) => context.GuardAsync(async () =>
            {
                using var client = moveRemote.CreateClient(parse);
                var sweepId = parse.GetValue(id);
                var view = verb switch
                {
                    "pause" => await client.PauseSweepAsync(sweepId, ct).ConfigureAwait(false),
                    "resume" => await client.ResumeSweepAsync(sweepId, ct).ConfigureAwait(false),
                    _ => await client.CancelSweepAsync(sweepId, ct).ConfigureAwait(false),
                };
                context.Console.MarkupLine($"Sweep [bold]{view.Id}[/] is {Render.Wire(view.State)}.");
                return 0;
            }, new Dictionary<string, string> { ["sweepId"] = "ID" }));
            sweep.Subcommands.Add(move);
        }
        return sweep;
    }

    public static Command Trials(CliContext context)
    {
        var trials = new Command("trials", "List and inspect trials");

        var remote = new Remote();
        var sweepOption = new Option<long>("--sweep") { Description = "The sweep's id", Required = true };
        var state = new Option<string?>("--state") { Description = "Only trials in these states: queued,running,completed,failed,cancelled" };
        var sort = new Option<string?>("--sort") { Description = "id, number, priority, outerStep or attempt; a leading '-' sorts descending" };
        var page = new Option<int>("--page") { Description = "The page to show, from 1", DefaultValueFactory = _ => 1 };
        var pageSize = new Option<int>("--page-size") { Description = "Trials per page", DefaultValueFactory = _ => PagingLimits.DefaultPageSize };
        var list = new Command("list", "List a sweep's trials, filtered, sorted and paged") { sweepOption, state, sort, page, pageSize };
        remote.AddTo(list, json: true);
        list.SetAction((parse, ct) => context.GuardAsync(async () =>
        {
            var size = parse.GetValue(pageSize);
            if (size is < 1 or > PagingLimits.MaxPageSize)
                throw new CliException("--page-size", $"must be from 1 to {PagingLimits.MaxPageSize}; got {size}");
            var number = parse.GetValue(page);
            if (number < 1 || (long)(number - 1) * size > PagingLimits.MaxOffset)
                throw new CliException("--page", $"must be from 1 to {PagingLimits.MaxOffset / size + 1}; got {number}");
            using var client = remote.CreateClient(parse);
            var request = new TrialListRequest
            {
                SweepId = parse.GetValue(sweepOption),
                States = ParseStates(parse.GetValue(state)),
                PageSize = size,
                Offset = (number - 1) * size,
            };
            if (parse.GetValue(sort) is { Length: > 0 } sortText)
            {
                request = request with
                {
                    SortBy = ParseSort(sortText.TrimStart('-')),
                    Descending = sortText.StartsWith('-'),
                };
            }
            var result = await client.ListTrialsAsync(request, ct).ConfigureAwait(false);
            if (parse.GetValue(remote.Json))
            {
                context.Console.WriteLine(Render.Json(result));
                return 0;
            }
            context.Console.Write(Render.Trials(result.Items));
            var pages = Math.Max(1, (result.Total + size - 1) / size);
            context.Console.WriteLine($"page {number} of {pages} ({result.Total} trials)");
            return 0;
        }, TrialListFields));
        trials.Subcommands.Add(list);

        var showRemote = new Remote();
        var trialId = new Argument<long>("ID") { Description = "The trial's id" };
        var show = new Command("show", "Show one trial with the last value of each metric") { trialId };
        showRemote.AddTo(show, json: true);
        show.SetAction((parse, ct) => context.GuardAsync(async () =>
        {
            using var client = showRemote.CreateClient(parse);
            var trial = await client.GetTrialAsync(parse.GetValue(trialId), ct).ConfigureAwait(false);
            var metrics = await client.GetMetricsAsync(new MetricsRequest { TrialId = trial.Id, Limit = MetricsRequest.MaxLimit }, ct).ConfigureAwait(false);
            if (parse.GetValue(showRemote.Json))
            {
                context.Console.WriteLine(Render.Json(new { trial, metrics }));
                return 0;
            }
            var table = new Table().Border(TableBorder.Rounded).AddColumn("trial").AddColumn(trial.Id.ToString(CultureInfo.InvariantCulture));
            table.AddRow("sweep", trial.SweepId.ToString(CultureInfo.InvariantCulture));
            table.AddRow("number", trial.Number.ToString(CultureInfo.InvariantCulture));
            table.AddRow("state", Render.State(trial.State));
            table.AddRow("phase", ((int)trial.Phase).ToString(CultureInfo.InvariantCulture) + (trial.PhaseSwitchStep is { } s ? $" (switched at step {s})" : ""));
            table.AddRow("outer step", trial.OuterStep.ToString(CultureInfo.InvariantCulture));
            table.AddRow("attempt", $"{trial.Attempt} ({trial.Failures} failed of at most {trial.MaxAttempts})");
            table.AddRow("params", Markup.Escape(Render.Params(trial.Params)));
            table.AddRow("seed", trial.Seed.ToString(CultureInfo.InvariantCulture));
            if (trial.LeaseOwner is not null)
                table.AddRow("worker", Markup.Escape(trial.LeaseOwner));
            if (trial.Result is { } result)
                table.AddRow("result", Markup.Escape(result.GetRawText()));
            if (trial.Error is not null)
                table.AddRow("error", "[red]" + Markup.Escape(trial.Error) + "[/]");
            foreach (var curve in metrics.GroupBy(m => m.Name, StringComparer.Ordinal))
            {
                var last = curve.Last();
                table.AddRow("metric " + Markup.Escape(curve.Key), $"{Render.Number(last.Value)} at step {last.Step} ({curve.Count()} points)");
            }
            context.Console.Write(table);
            return 0;
        }, new Dictionary<string, string> { ["trialId"] = "ID" }));
        trials.Subcommands.Add(show);
        return trials;
    }

    public static Command Results(CliContext context)
    {
        var results = new Command("results", "Export results");
        var remote = new Remote();
        var sweepOption = new Option<long>("--sweep") { Description = "The sweep's id", Required = true };
        var output = new Option<FileInfo>("--out") { Description = "The CSV file to write", Required = true };
        var export = new Command("export", "Write every trial of a sweep as CSV: state, params, result fields, final metrics") { sweepOption, output };
        remote.AddTo(export);
        export.SetAction((parse, ct) => context.GuardAsync(async () =>
        {
            var file = parse.GetValue(output)!;
            if (file.Directory is { Exists: false } directory)
                throw new CliException("--out", $"the directory {directory.FullName} does not exist");
            using var client = remote.CreateClient(parse);
            var csv = await client.ExportCsvAsync(parse.GetValue(sweepOption), ct).ConfigureAwait(false);
            await File.WriteAllTextAsync(file.FullName, csv, ct).ConfigureAwait(false);
            var rows = csv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Length - 1;
            context.Console.WriteLine($"Wrote {rows} trials to {file.FullName}");
            return 0;
        }, new Dictionary<string, string> { ["sweepId"] = "--sweep" }));
        results.Subcommands.Add(export);
        return results;
    }

    internal static async Task<string> ReadSpecAsync(FileInfo file, CancellationToken cancellationToken)
    {
        if (!file.Exists)
            throw new CliException("SPEC", $"the file {file.FullName} does not exist");
        if (file.Length > SpecLimits.Default.MaxDocumentBytes)
            throw new CliException("SPEC", $"the file is {file.Length} bytes; a spec is at most {SpecLimits.Default.MaxDocumentBytes}");
        return await File.ReadAllTextAsync(file.FullName, cancellationToken).ConfigureAwait(false);
    }

    private static Argument<long> SweepId() => new("ID") { Description = "The sweep's id" };

    private static List<TrialState>? ParseStates(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
            return null;
        var states = new List<TrialState>();
        foreach (var name in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var state = Enum.GetValues<TrialState>().Where(s => Render.Wire(s) == name).Select(s => (TrialState?)s).FirstOrDefault()
                ?? throw new CliException("--state", $"'{name}' is not a trial state; use {string.Join(", ", Enum.GetValues<TrialState>().Select(Render.Wire))}");
            states.Add(state);
        }
        return states;
    }

    private static TrialSortField ParseSort(string name) =>
        Enum.GetValues<TrialSortField>().Where(f => Render.Wire(f) == name).Select(f => (TrialSortField?)f).FirstOrDefault()
        ?? throw new CliException("--sort", $"'{name}' is not a sort field; use {string.Join(", ", Enum.GetValues<TrialSortField>().Select(Render.Wire))}, with '-' for descending");
}
