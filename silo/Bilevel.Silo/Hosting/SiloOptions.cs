namespace Bilevel.Silo.Hosting;

/// <summary>Where the silo keeps its state, read from the <c>Silo</c> section.</summary>
public sealed class SiloOptions
{
    public const string SectionName = "Silo";

    /// <summary>
    /// The roles of this process (see <see cref="SiloRolesParser"/>): <c>api</c>, <c>worker</c> or <c>both</c>.
    /// Also <c>--roles</c>. Default <c>both</c>.
    /// </summary>
    public string? Roles { get; set; }

    /// <summary>
    /// The directory of the embedded SQLite store (and anything else the silo keeps on disk); created when missing.
    /// Also <c>--data-dir</c>. Default <c>$XDG_DATA_HOME/bilevel</c> (usually <c>~/.local/share/bilevel</c>).
    /// </summary>
    public string? DataDirectory { get; set; }

    /// <summary>The store, from <c>Silo:Store</c>. Default: SQLite under <see cref="DataDirectory"/>.</summary>
    public SiloStoreOptions Store { get; set; } = new();

    internal string ResolveDataDirectory() =>
        string.IsNullOrWhiteSpace(DataDirectory)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "bilevel")
            : Path.GetFullPath(DataDirectory);
}

/// <summary>The grid store: PostgreSQL when a connection string is given, otherwise SQLite.</summary>
public sealed class SiloStoreOptions
{
    /// <summary>
    /// An Npgsql connection string; when set the grid lives in PostgreSQL (shared by every silo pointing at it).
    /// <c>Silo:Store:Postgres</c>, also <c>--postgres</c>. Default null (SQLite).
    /// </summary>
    public string? Postgres { get; set; }

    /// <summary>The PostgreSQL schema of the grid's tables (<c>Silo:Store:Schema</c>, <c>--schema</c>). Default <c>bilevel</c>.</summary>
    public string Schema { get; set; } = "bilevel";

    /// <summary>The SQLite database file (<c>Silo:Store:Sqlite</c>). Default <c>grid.db</c> in the data directory.</summary>
    public string? Sqlite { get; set; }

    /// <summary>
    /// PostgreSQL ends a session of this silo that sits idle inside a transaction for longer
    /// (<c>idle_in_transaction_session_timeout</c>), rolling it back: a worker frozen mid-write (a stopped process, a
    /// paused VM) would otherwise keep its row locks and block the reaper and everyone else. The store's transactions
    /// last milliseconds. Zero leaves the server's setting. <c>Silo:Store:IdleTransactionTimeout</c>. Default 10 seconds.
    /// </summary>
    public TimeSpan IdleTransactionTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
