namespace Bilevel.Tasks.Data.Internal;

/// <summary>
/// realpath(3) in managed code: an absolute path with every symbolic link among its existing components replaced by
/// its target and every <c>..</c> applied to the resolved parent. Components that do not exist are kept as written.
/// </summary>
internal static class RealPath
{
    // Linux's MAXSYMLINKS: more hops than this means a loop.
    private const int MaxLinkHops = 40;

    public static string Resolve(string absolutePath)
    {
        string full = Path.GetFullPath(absolutePath);
        string root = Path.GetPathRoot(full) ?? throw new ArgumentException($"'{absolutePath}' has no root.", nameof(absolutePath));
        var pending = new List<string>(Split(full[root.Length..]));
        pending.Reverse(); // a stack: the next component on top
        string current = root;
        int hops = 0;
        while (pending.Count > 0)
        {
            string part = pending[^1];
            pending.RemoveAt(pending.Count - 1);
            if (part.Length == 0 || part == ".") continue;
            if (part == "..")
            {
                current = Path.GetDirectoryName(current) ?? root;
                continue;
            }

            string next = Path.Join(current, part);
            string? target = LinkTarget(next);
            if (target is null)
            {
                current = next;
                continue;
            }

            if (++hops > MaxLinkHops)
                throw new IOException($"{absolutePath}: more than {MaxLinkHops} symbolic links while resolving it (a loop?).");
            // The target replaces this component: an absolute target restarts from its root, a relative one is
            // read from the link's folder; either way its components are resolved like the rest.
            var targetParts = Split(Path.IsPathRooted(target) ? target[(Path.GetPathRoot(target)?.Length ?? 0)..] : target);
            if (Path.IsPathRooted(target)) current = Path.GetPathRoot(target) ?? root;
            for (int i = targetParts.Length - 1; i >= 0; i--) pending.Add(targetParts[i]);
        }
        return current;
    }

    private static string? LinkTarget(string path)
    {
        FileSystemInfo info = new FileInfo(path);
        try
        {
            return info.LinkTarget;
        }
        catch (IOException)
        {
            return null; // missing component: nothing to follow
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string[] Split(string path) => path.Split([Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar]);
}
