using System.Globalization;
using System.Reflection;

namespace Bilevel.Grid.Internal;

/// <summary>
/// One versioned schema script, embedded as <c>Migrations/{Dialect}/NNNN_name.sql</c>. Scripts are applied in
/// version order, once each, and never edited after release: a change is a new script.
/// </summary>
internal sealed record Migration(int Version, string Name, string Sql)
{
    public static IReadOnlyList<Migration> Load(string dialectFolder)
    {
        var assembly = typeof(Migration).Assembly;
        var prefix = $"Bilevel.Grid.Migrations.{dialectFolder}/";
        var migrations = assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Select(n => Read(assembly, n, n[prefix.Length..^".sql".Length]))
            .OrderBy(m => m.Version)
            .ToArray();
        if (migrations.Length == 0)
            throw new InvalidOperationException($"No migrations are embedded for {dialectFolder}.");
        for (var i = 0; i < migrations.Length; i++)
        {
            if (migrations[i].Version != i + 1)
                throw new InvalidOperationException($"Migrations of {dialectFolder} must be numbered 1, 2, 3, … without gaps; found {migrations[i].Version} at position {i + 1}.");
        }
        return migrations;
    }

    private static Migration Read(Assembly assembly, string resource, string fileName)
    {
        var underscore = fileName.IndexOf('_', StringComparison.Ordinal);
        if (underscore <= 0 || !int.TryParse(fileName[..underscore], NumberStyles.None, CultureInfo.InvariantCulture, out var version))
            throw new InvalidOperationException($"Migration {resource} is not named NNNN_name.sql.");
        using var stream = assembly.GetManifestResourceStream(resource)!;
        using var reader = new StreamReader(stream);
        return new Migration(version, fileName[(underscore + 1)..], reader.ReadToEnd());
    }
}
