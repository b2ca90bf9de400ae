using Bilevel.Tasks.Data.Internal;

namespace Bilevel.Tasks.Data;

/// <summary>
/// The folder every dataset file is read from and written to. <see cref="Resolve"/> is the only way from a dataset
/// name to a path: a name with a <c>..</c> segment, an absolute path outside the root, or a path that leaves the root
/// through a symbolic link is rejected with a <see cref="DataPathException"/> naming it.
/// </summary>
/// <remarks>
/// Symbolic links that stay inside the root are followed, and the root itself may be a link (a cache folder on
/// another disk): containment is checked on the resolved path against the resolved root. The check guards against
/// mistakes and hostile names in configs, not against a concurrent process swapping links between check and use.
/// </remarks>
public sealed class DataRoot
{
    /// <summary>The environment variable that overrides the default root.</summary>
    public const string EnvironmentVariable = "BILEVEL_DATA";

    /// <summary>A root at <paramref name="path"/> (made absolute against the current directory). The folder need not exist yet.</summary>
    public DataRoot(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(path));
    }

    /// <summary>The root as configured (absolute, no trailing separator).</summary>
    public string Path { get; }

    /// <summary>
    /// The default root: <c>$BILEVEL_DATA</c> when set, else <c>$XDG_CACHE_HOME/bilevel/data</c> when that is set,
    /// else <c>~/.cache/bilevel/data</c>.
    /// </summary>
    public static DataRoot FromEnvironment() => new(DefaultPath());

    /// <inheritdoc cref="FromEnvironment"/>
    public static string DefaultPath()
    {
        var configured = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(configured)) return configured;
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var cache = !string.IsNullOrWhiteSpace(xdg) && System.IO.Path.IsPathRooted(xdg)
            ? xdg
            : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return System.IO.Path.Combine(cache, "bilevel", "data");
    }

    /// <summary>
    /// The full path of <paramref name="relativePath"/> under the root (forward or platform separators). An absolute
    /// path is accepted only when it lies inside the root. Nothing is created; the file need not exist.
    /// </summary>
    /// <exception cref="DataPathException">The path would leave the root.</exception>
    public string Resolve(string relativePath)
    {
        ArgumentNullException.ThrowIfNull(relativePath);
        if (relativePath.Length == 0 || relativePath.Contains('\0', StringComparison.Ordinal))
            throw new DataPathException(relativePath, Path, "expected a non-empty path without NUL characters");

        var segments = relativePath.Split(['/', System.IO.Path.DirectorySeparatorChar, System.IO.Path.AltDirectorySeparatorChar]);
        if (segments.Contains(".."))
            throw new DataPathException(relativePath, Path, "'..' segments are not allowed; name the file relative to the data root");

        string full = System.IO.Path.IsPathRooted(relativePath)
            ? System.IO.Path.GetFullPath(relativePath)
            : System.IO.Path.GetFullPath(System.IO.Path.Join(Path, relativePath));
        if (!IsInside(full, Path))
            throw new DataPathException(relativePath, Path, $"the absolute path {full} lies outside the data root");

        string realRoot = RealPath.Resolve(Path);
        string real = RealPath.Resolve(full);
        if (!IsInside(real, realRoot))
            throw new DataPathException(relativePath, Path, $"a symbolic link leads it to {real}, outside the data root ({realRoot})");
        return full;
    }

    /// <summary><see cref="Resolve"/>, then creates the folders above the file (and checks the result again).</summary>
    public string ResolveForWrite(string relativePath)
    {
        string full = Resolve(relativePath);
        var folder = System.IO.Path.GetDirectoryName(full);
        if (folder is not null)
        {
            Directory.CreateDirectory(folder);
            Resolve(relativePath);
        }
        return full;
    }

    public override string ToString() => Path;

    private static bool IsInside(string path, string root)
    {
        var comparison = OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        if (string.Equals(path, root, comparison)) return true;
        string prefix = System.IO.Path.EndsInDirectorySeparator(root) ? root : root + System.IO.Path.DirectorySeparatorChar;
        return path.StartsWith(prefix, comparison);
    }
}
