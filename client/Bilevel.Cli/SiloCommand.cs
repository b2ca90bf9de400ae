using System.CommandLine;
using System.Reflection;

namespace Bilevel.Cli;

/// <summary>
/// <c>bilevel silo</c>: starts the silo host (silo/Bilevel.Silo, referenced as a project) in this process, by its
/// own entry point, with the options turned into its configuration: <c>--roles</c> → <c>Silo:Roles</c>,
/// <c>--store postgres --postgres CS</c> → <c>Silo:Store:Postgres</c>, <c>--sqlite FILE</c> → <c>Silo:Store:Sqlite</c>,
/// <c>--cpu-slots</c> → <c>Worker:CpuSlots</c>, <c>--urls</c> → <c>urls</c>. Anything after <c>--</c> goes to the
/// host unchanged (e.g. <c>-- --Silo:Api:Token=…</c>). Runs until Ctrl+C or SIGTERM.
/// </summary>
internal static class SiloCommand
{
    private static readonly string[] Roles = ["api", "worker"];

    public static Command Create(CliContext context)
    {
        var roles = new Option<string>("--roles") { Description = "api, worker or api,worker", DefaultValueFactory = _ => "api,worker" };
        var urls = new Option<string>("--urls") { Description = "Where the API listens", DefaultValueFactory = _ => Remote.DefaultServer };
        var store = new Option<string>("--store") { Description = "sqlite (one machine) or postgres (shared)", DefaultValueFactory = _ => "sqlite" };
        store.AcceptOnlyFromAmong("sqlite", "postgres");
        var postgres = new Option<string?>("--postgres")
        {
            Description = "The PostgreSQL connection string (env BILEVEL_POSTGRES)",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("BILEVEL_POSTGRES"),
        };
        var sqlite = new Option<string?>("--sqlite") { Description = "The SQLite database file (default: grid.db in the silo's data directory)" };
        var cpuSlots = new Option<int?>("--cpu-slots") { Description = "Worker slots for CPU trials (default: one per two cores)" };
        var silo = new Command("silo", "Start a silo host in this process: the HTTP API, worker slots, or both") { roles, urls, store, postgres, sqlite, cpuSlots };
        silo.TreatUnmatchedTokensAsErrors = false;
        silo.SetAction((parse, ct) => context.GuardAsync(async () =>
        {
            var roleList = parse.GetValue(roles)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (roleList.Length == 0 || roleList.Any(r => !Roles.Contains(r, StringComparer.Ordinal)))
                throw new CliException("--roles", $"'{parse.GetValue(roles)}' must list roles from: {string.Join(", ", Roles)}");
            var storeKind = parse.GetValue(store)!;
            var connection = parse.GetValue(postgres);
            if (storeKind == "postgres" && string.IsNullOrWhiteSpace(connection))
                throw new CliException("--postgres", "is required with --store postgres (or set BILEVEL_POSTGRES)");
            if (parse.GetValue(cpuSlots) is < 0)
                throw new CliException("--cpu-slots", $"must not be negative; got {parse.GetValue(cpuSlots)}");
            var hostArgs = new List<string> { $"--Silo:Roles={string.Join(',', roleList)}", $"--urls={parse.GetValue(urls)}" };
            if (storeKind == "postgres")
                hostArgs.Add($"--Silo:Store:Postgres={connection}");
            else if (parse.GetValue(sqlite) is { Length: > 0 } file)
                hostArgs.Add($"--Silo:Store:Sqlite={Path.GetFullPath(file)}");
            if (parse.GetValue(cpuSlots) is { } slots)
                hostArgs.Add($"--Worker:CpuSlots={slots}");
            hostArgs.AddRange(parse.UnmatchedTokens);
            return await RunHostAsync([.. hostArgs]).ConfigureAwait(false);
        }));
        return silo;
    }

    /// <summary>Calls the silo's entry point (its Program) with <paramref name="args"/>.</summary>
    internal static async Task<int> RunHostAsync(string[] args)
    {
        var entry = typeof(Silo.Api.GridApi).Assembly.EntryPoint
            ?? throw new InvalidOperationException("The silo assembly has no entry point.");
        object? result;
        try
        {
            result = entry.Invoke(null, entry.GetParameters().Length == 0 ? null : [args]);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
        switch (result)
        {
            case Task<int> withCode:
                return await withCode.ConfigureAwait(false);
            case Task task:
                await task.ConfigureAwait(false);
                return 0;
            case int code:
                return code;
            default:
                return 0;
        }
    }
}
