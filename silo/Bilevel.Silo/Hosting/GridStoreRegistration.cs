using Bilevel.Grid;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Bilevel.Silo.Hosting;

/// <summary>Registers the grid store the configuration names, and its migration at start.</summary>
public static class GridStoreRegistration
{
    /// <summary>
    /// Binds <see cref="SiloOptions"/> and registers one <see cref="IGridStore"/>: PostgreSQL when
    /// <c>Silo:Store:Postgres</c> holds a connection string, otherwise SQLite at <c>Silo:Store:Sqlite</c> (default
    /// <c>grid.db</c> in the data directory). The older keys <c>Silo:Store = postgres</c> with
    /// <c>Silo:Postgres:ConnectionString</c>, and <c>Silo:Sqlite:Path</c>, are read too. The schema is migrated (with
    /// reconnect backoff) before the host serves or claims anything.
    /// </summary>
    public static IServiceCollection AddGridStore(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<SiloOptions>().Bind(configuration.GetSection(SiloOptions.SectionName)).PostConfigure(options =>
        {
            if (string.IsNullOrWhiteSpace(options.Store.Postgres)
                && string.Equals(configuration["Silo:Store"], "postgres", StringComparison.OrdinalIgnoreCase))
                options.Store.Postgres = configuration["Silo:Postgres:ConnectionString"]
                    ?? throw new InvalidOperationException("Silo:Store is postgres but Silo:Postgres:ConnectionString is not set; give the connection string as Silo:Store:Postgres (--postgres).");
            if (string.IsNullOrWhiteSpace(options.Store.Sqlite) && configuration["Silo:Sqlite:Path"] is { Length: > 0 } legacy)
                options.Store.Sqlite = legacy;
        });
        services.AddOptions<ReaperOptions>().Bind(configuration.GetSection(ReaperOptions.SectionName));
        services.AddSingleton<GridStoreReadiness>();
        services.AddSingleton<IGridStore>(sp => Create(sp.GetRequiredService<IOptions<SiloOptions>>().Value, sp.GetRequiredService<ILoggerFactory>(),
            sp.GetRequiredService<TimeProvider>()));
        services.AddHostedService<GridStoreMigrator>();
        return services;
    }

    /// <summary>The connection string with the session settings of <see cref="SiloStoreOptions"/>, unless it sets its own Options.</summary>
    internal static string WithSessionLimits(SiloStoreOptions store)
    {
        var builder = new NpgsqlConnectionStringBuilder(store.Postgres);
        if (store.IdleTransactionTimeout > TimeSpan.Zero && string.IsNullOrWhiteSpace(builder.Options))
            builder.Options = $"-c idle_in_transaction_session_timeout={(long)Math.Ceiling(store.IdleTransactionTimeout.TotalMilliseconds)}";
        return builder.ConnectionString;
    }

    private static IGridStore Create(SiloOptions options, ILoggerFactory loggers, TimeProvider time)
    {
        var grid = new GridStoreOptions { LoggerFactory = loggers, TimeProvider = time };
        if (!string.IsNullOrWhiteSpace(options.Store.Postgres))
            return new PostgresGridStore(new PostgresGridStoreOptions { ConnectionString = WithSessionLimits(options.Store), Schema = options.Store.Schema, Grid = grid });
        var path = options.Store.Sqlite is { Length: > 0 } file
            ? Path.GetFullPath(file)
            : Path.Combine(options.ResolveDataDirectory(), "grid.db");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return new SqliteGridStore(new SqliteGridStoreOptions { DatabasePath = path, Grid = grid });
    }
}

/// <summary>Completes once the store's schema is migrated; what claims or serves waits for it.</summary>
public sealed class GridStoreReadiness
{
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Ready => _ready.Task;

    internal void MarkReady() => _ready.TrySetResult();
}
