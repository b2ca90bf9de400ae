using Bilevel.Silo.Api;
using Bilevel.Silo.Hosting;
using Bilevel.Silo.Worker;
using Microsoft.Extensions.DependencyInjection.Extensions;

// The silo: one ASP.NET Core host whose roles come from configuration.
//   Silo:Roles (--roles)               api | worker | both (default both)
//   Silo:Store:Postgres (--postgres)   an Npgsql connection string: the grid lives in PostgreSQL, schema
//                                      Silo:Store:Schema (--schema, default bilevel); otherwise SQLite at
//                                      Silo:Store:Sqlite (--sqlite), default grid.db in Silo:DataDirectory (--data-dir);
//                                      Silo:Store:IdleTransactionTimeout (default 10 s) ends a frozen worker's session
//   Worker:* (see WorkerOptions)       CpuSlots (--cpu-slots), CudaSlots (--cuda-slots), WorkerId (--worker-id),
//                                      ThreadsPerTrial, LeaseDuration, PollInterval, …
//   Silo:Reaper:* (see ReaperOptions)  Enabled, Interval
//   Silo:Api:* (see GridApiOptions)    Token, MaxRequestBodyBytes
// Every silo migrates the store at start (retrying while the database is unreachable) and runs the lease reaper
// (the store elects one pass at a time). Ctrl+C / SIGTERM: running trials checkpoint and go back to the queue.
var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddCommandLine(args, SiloCommandLine.SwitchMappings);

SiloRoles roles;
try
{
    roles = SiloRolesParser.Parse(builder.Configuration[SiloRolesParser.Key]);
}
catch (ArgumentException e)
{
    await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false);
    return 2;
}

builder.Services.TryAddSingleton(TimeProvider.System);
builder.Services.AddGridStore(builder.Configuration);
builder.Services.AddGridReaper();
if (roles.HasFlag(SiloRoles.Worker))
    builder.Services.AddGridWorker(builder.Configuration);
if (roles.HasFlag(SiloRoles.Api))
    builder.Services.AddGridApi(builder.Configuration);

var app = builder.Build();
if (roles.HasFlag(SiloRoles.Api))
    app.MapGridApi();
else
    app.MapGet("/health", () => TypedResults.Ok("ok"));
await app.RunAsync().ConfigureAwait(false);
return 0;
