using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Bilevel.Grid.Tests.Infrastructure;

/// <summary>
/// The PostgreSQL server of one test run: the one named by BILEVEL_TEST_PG when set, otherwise a private cluster
/// started in a temporary directory on a free loopback port (as the postgres user when the tests run as root,
/// since initdb refuses root). Creates one database for the run; drops it, or stops the cluster, at the end.
/// A missing PostgreSQL fails the tests, on CI and locally alike: they are never skipped.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    private const string EnvironmentVariable = "BILEVEL_TEST_PG";
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    private string? _clusterDirectory;
    private string? _binDirectory;
    private string? _adminConnectionString;
    private string? _database;

    /// <summary>The connection string of this run's database.</summary>
    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        _adminConnectionString = Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } external
            ? external
            : await StartClusterAsync();
        _database = $"bilevel_tests_{Environment.ProcessId}_{Random.Shared.Next(1_000_000)}";
        await using (var admin = new NpgsqlConnection(_adminConnectionString))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {_database}", admin);
            await create.ExecuteNonQueryAsync();
        }
        ConnectionString = new NpgsqlConnectionStringBuilder(_adminConnectionString) { Database = _database }.ConnectionString;
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_clusterDirectory is not null)
        {
            await PgCtlAsync(["-D", _clusterDirectory, "-m", "immediate", "-w", "stop"]);
            Directory.Delete(_clusterDirectory, recursive: true);
            return;
        }
        if (_adminConnectionString is not null && _database is not null)
        {
            await using var admin = new NpgsqlConnection(_adminConnectionString);
            await admin.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_database} WITH (FORCE)", admin);
            await drop.ExecuteNonQueryAsync();
        }
    }

    private async Task<string> StartClusterAsync()
    {
        _binDirectory = FindBinDirectory() ?? throw new InvalidOperationException(
            "PostgreSQL is not installed (no initdb under /usr/lib/postgresql/*/bin), and BILEVEL_TEST_PG names no server. " +
            "Run deploy/install-prerequisites.sh, or set BILEVEL_TEST_PG to a connection string of a server the tests may create a database on.");
        _clusterDirectory = Directory.CreateTempSubdirectory("bilevel-pg-").FullName;
        if (RunsAsRoot)
            await ProcessRunner.RunAsync("chown", ["postgres:postgres", _clusterDirectory], CommandTimeout);
        await AsPostgresAsync(Path.Combine(_binDirectory, "initdb"), ["-D", _clusterDirectory, "-A", "trust", "-U", "postgres", "--no-sync"]);
        var port = FreePort();
        // fsync off: a throwaway cluster needs no durability, and the tests' semantics do not depend on it.
        var serverOptions = $"-p {port} -k {_clusterDirectory} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200";
        await PgCtlAsync(["-D", _clusterDirectory, "-o", serverOptions, "-l", Path.Combine(_clusterDirectory, "server.log"), "-w", "start"]);
        return $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres;Pooling=true";
    }

    private Task PgCtlAsync(string[] arguments) => AsPostgresAsync(Path.Combine(_binDirectory!, "pg_ctl"), arguments);

    private static Task AsPostgresAsync(string program, string[] arguments) => RunsAsRoot
        ? ProcessRunner.RunAsync("runuser", ["-u", "postgres", "--", program, .. arguments], CommandTimeout)
        : ProcessRunner.RunAsync(program, arguments, CommandTimeout);

    private static bool RunsAsRoot => Environment.UserName == "root";

    private static string? FindBinDirectory()
    {
        const string root = "/usr/lib/postgresql";
        if (!Directory.Exists(root))
            return null;
        return Directory.GetDirectories(root)
            .Select(d => Path.Combine(d, "bin"))
            .Where(d => File.Exists(Path.Combine(d, "initdb")))
            .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0)
            .FirstOrDefault();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "postgres";
}
