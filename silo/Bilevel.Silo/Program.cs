using Bilevel.Grid;
using Bilevel.Silo.Api;

// A minimal host until the worker side lands (its engineer takes this file over): the grid store from configuration
// (Silo:Store = sqlite | postgres; Silo:Sqlite:Path, default bilevel.db; Silo:Postgres:ConnectionString), migrated at
// start, and the HTTP API.
var builder = WebApplication.CreateBuilder(args);
builder.Services.AddSingleton<IGridStore>(_ =>
{
    var silo = builder.Configuration.GetSection("Silo");
    return string.Equals(silo["Store"], "postgres", StringComparison.OrdinalIgnoreCase)
        ? new PostgresGridStore(new PostgresGridStoreOptions
        {
            ConnectionString = silo["Postgres:ConnectionString"]
                ?? throw new InvalidOperationException("Silo:Postgres:ConnectionString is required when Silo:Store is postgres."),
        })
        : new SqliteGridStore(new SqliteGridStoreOptions { DatabasePath = silo["Sqlite:Path"] ?? "bilevel.db" });
});
builder.Services.AddGridApi(builder.Configuration);

var app = builder.Build();
await app.Services.GetRequiredService<IGridStore>().MigrateAsync(app.Lifetime.ApplicationStopping).ConfigureAwait(false);
app.MapGridApi();
await app.RunAsync().ConfigureAwait(false);
