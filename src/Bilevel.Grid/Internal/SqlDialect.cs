using System.Data.Common;

namespace Bilevel.Grid.Internal;

/// <summary>
/// The few places where PostgreSQL and SQLite SQL differ, for the statements both stores share: how to read the
/// database's clock, time arithmetic, JSON parameters and row locks.
/// </summary>
internal abstract class SqlDialect
{
    /// <summary>The database's current time: every lease and heartbeat is measured by it, never the worker's clock.</summary>
    public abstract string Now { get; }

    /// <summary>A time plus a number of milliseconds.</summary>
    public abstract string PlusMilliseconds(string time, string milliseconds);

    /// <summary>The milliseconds from <paramref name="earlier"/> to <paramref name="later"/>, as a number.</summary>
    public abstract string MillisecondsBetween(string later, string earlier);

    /// <summary>A parameter holding JSON text, as the JSON column type.</summary>
    public abstract string Json(string parameter);

    /// <summary>Appended to a SELECT to lock its rows for the transaction (empty where the whole database is locked).</summary>
    public abstract string ForUpdate { get; }

    public abstract DateTimeOffset ReadTime(DbDataReader reader, int ordinal);

    public DateTimeOffset? ReadNullableTime(DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : ReadTime(reader, ordinal);
}
