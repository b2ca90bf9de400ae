using System.Data.Common;

namespace Bilevel.Grid.Internal;

internal sealed class SqliteDialect : SqlDialect
{
    public static SqliteDialect Instance { get; } = new();

    // Milliseconds since the epoch; 'now' is fixed for the duration of one statement.
    public override string Now => "CAST(unixepoch('subsec') * 1000 AS INTEGER)";

    public override string PlusMilliseconds(string time, string milliseconds) => $"({time} + {milliseconds})";

    public override string MillisecondsBetween(string later, string earlier) => $"({later} - {earlier})";

    public override string Json(string parameter) => parameter;

    // BEGIN IMMEDIATE already holds the database's one write lock.
    public override string ForUpdate => "";

    public override DateTimeOffset ReadTime(DbDataReader reader, int ordinal) =>
        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal));
}
