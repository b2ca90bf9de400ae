using System.Data.Common;

namespace Bilevel.Grid.Internal;

internal sealed class PostgresDialect : SqlDialect
{
    public static PostgresDialect Instance { get; } = new();

    // now() is the transaction's start: every statement of one transaction sees the same instant.
    public override string Now => "now()";

    public override string PlusMilliseconds(string time, string milliseconds) => $"({time} + {milliseconds} * interval '1 millisecond')";

    public override string MillisecondsBetween(string later, string earlier) => $"(extract(epoch from ({later} - {earlier})) * 1000)";

    public override string Json(string parameter) => $"CAST({parameter} AS jsonb)";

    public override string ForUpdate => " FOR UPDATE";

    public override DateTimeOffset ReadTime(DbDataReader reader, int ordinal) => reader.GetFieldValue<DateTimeOffset>(ordinal);
}
