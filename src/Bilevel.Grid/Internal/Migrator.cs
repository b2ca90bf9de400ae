using System.Data.Common;

namespace Bilevel.Grid.Internal;

/// <summary>
/// Applies the migrations a database lacks, inside the caller's write transaction (which the caller makes
/// exclusive, so two hosts starting at once do not both migrate), and records each in <c>schema_migrations</c>.
/// </summary>
internal static class Migrator
{
    public static async Task<int> ApplyAsync(
        DbConnection connection, DbTransaction transaction, SqlDialect dialect, IReadOnlyList<Migration> migrations, CancellationToken cancellationToken)
    {
        await connection.Command(transaction,
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
            .ExecuteAsync(cancellationToken).ConfigureAwait(false);
        var applied = (await connection.Command(transaction, "SELECT version FROM schema_migrations")
            .ListAsync(r => Convert.ToInt32(r.GetValue(0), System.Globalization.CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false))
            .ToHashSet();
        var known = migrations.Max(m => m.Version);
        if (applied.Count > 0 && applied.Max() > known)
            throw new InvalidOperationException($"The database's schema is at version {applied.Max()}, newer than this build knows ({known}); upgrade the build.");
        var count = 0;
        foreach (var migration in migrations.Where(m => !applied.Contains(m.Version)))
        {
            await connection.Command(transaction, migration.Sql).ExecuteAsync(cancellationToken).ConfigureAwait(false);
            await connection.Command(transaction, $"INSERT INTO schema_migrations (version, name, applied_at) VALUES (@version, @name, CAST({dialect.Now} AS TEXT))")
                .With("@version", migration.Version).With("@name", migration.Name)
                .ExecuteAsync(cancellationToken).ConfigureAwait(false);
            count++;
        }
        return count;
    }
}
