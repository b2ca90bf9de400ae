namespace Bilevel.Silo.Hosting;

/// <summary>What one silo process does: serve the HTTP API, run trials, or both.</summary>
[Flags]
public enum SiloRoles
{
    None = 0,
    Api = 1,
    Worker = 2,
    Both = Api | Worker,
}

/// <summary>Reads <c>Silo:Roles</c>: "api", "worker", "both", or a comma-separated list ("api,worker").</summary>
public static class SiloRolesParser
{
    public const string Key = "Silo:Roles";

    /// <exception cref="ArgumentException">The value names an unknown role or none.</exception>
    public static SiloRoles Parse(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
            return SiloRoles.Both;
        var roles = SiloRoles.None;
        foreach (var part in value.Split([',', '+', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            roles |= part.ToLowerInvariant() switch
            {
                "api" => SiloRoles.Api,
                "worker" => SiloRoles.Worker,
                "both" or "all" => SiloRoles.Both,
                _ => throw new ArgumentException($"{Key} (--roles): '{part}' is not a role; use api, worker or both.", nameof(value)),
            };
        }
        return roles;
    }
}
