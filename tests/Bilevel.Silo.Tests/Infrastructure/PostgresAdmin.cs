using Npgsql;

namespace Bilevel.Silo.Tests.Infrastructure;

/// <summary>
/// What the process tests do to the run's PostgreSQL beyond the store's API: audit every claim and completion of a
/// schema's trials (triggers writing to audit tables), and restart the server.
/// </summary>
internal static class PostgresAdmin
{
    /// <summary>Records every raised attempt (a claim) and every move to completed, with its owner, from now on.</summary>
    public static async Task InstallAuditAsync(string connectionString, string schema, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            $"CREATE TABLE {schema}.audit_claims (trial_id bigint NOT NULL, attempt integer NOT NULL, owner text, at timestamptz NOT NULL DEFAULT clock_timestamp()); " +
            $"CREATE TABLE {schema}.audit_completions (trial_id bigint NOT NULL, attempt integer NOT NULL, owner text, at timestamptz NOT NULL DEFAULT clock_timestamp()); " +
            $"CREATE FUNCTION {schema}.audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN " +
            $"  IF NEW.attempt <> OLD.attempt THEN INSERT INTO {schema}.audit_claims (trial_id, attempt, owner) VALUES (NEW.id, NEW.attempt, NEW.lease_owner); END IF; " +
            $"  IF NEW.state = 'completed' AND OLD.state <> 'completed' THEN INSERT INTO {schema}.audit_completions (trial_id, attempt, owner) VALUES (NEW.id, NEW.attempt, OLD.lease_owner); END IF; " +
            "  RETURN NEW; END $$; " +
            $"CREATE TRIGGER audit AFTER UPDATE ON {schema}.trials FOR EACH ROW EXECUTE FUNCTION {schema}.audit()", connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public static async Task<List<(long TrialId, int Attempt, string? Owner)>> AuditAsync(string connectionString, string schema, string table, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"SELECT trial_id, attempt, owner FROM {schema}.{table} ORDER BY at", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<(long, int, string?)>();
        while (await reader.ReadAsync(cancellationToken))
            rows.Add((reader.GetInt64(0), reader.GetInt32(1), reader.IsDBNull(2) ? null : reader.GetString(2)));
        return rows;
    }

    /// <summary>
    /// Restarts the server of <paramref name="connectionString"/> with <c>pg_ctl restart -m fast</c> (which reuses the
    /// options it was started with): every connection is cut. Needs the private cluster the fixture started (or a
    /// local server whose data directory this user, or postgres, may control).
    /// </summary>
    public static async Task RestartAsync(string connectionString, CancellationToken cancellationToken)
    {
        string dataDirectory;
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync(cancellationToken);
            await using var show = new NpgsqlCommand("SHOW data_directory", connection);
            dataDirectory = (string)(await show.ExecuteScalarAsync(cancellationToken))!;
        }
        var pgCtl = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin", "pg_ctl")).Where(File.Exists).OrderDescending().FirstOrDefault()
            : null;
        if (pgCtl is null || !Directory.Exists(dataDirectory))
            throw new InvalidOperationException(
                $"Cannot restart PostgreSQL: pg_ctl {(pgCtl is null ? "is not installed" : "found")}, data directory {dataDirectory} {(Directory.Exists(dataDirectory) ? "exists" : "is not on this machine")}. " +
                "The restart test needs the private cluster the tests start (leave BILEVEL_TEST_PG unset).");
        // -l: the restarted server must not inherit this process's pipes, or reading pg_ctl's output never ends.
        string[] arguments = ["-D", dataDirectory, "-m", "fast", "-w", "-l", Path.Combine(dataDirectory, "server.log"), "restart"];
        if (Environment.UserName == "root")
            await ProcessRunner.RunAsync("runuser", ["-u", "postgres", "--", pgCtl, .. arguments], TimeSpan.FromSeconds(60));
        else
            await ProcessRunner.RunAsync(pgCtl, arguments, TimeSpan.FromSeconds(60));
        NpgsqlConnection.ClearAllPools();
    }
}
