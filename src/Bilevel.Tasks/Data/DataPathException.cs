namespace Bilevel.Tasks.Data;

/// <summary>
/// A path that would leave the configured <see cref="DataRoot"/> (a <c>..</c> segment, an absolute path elsewhere,
/// a symbolic link pointing outside). The message names the path and the root.
/// </summary>
public sealed class DataPathException : IOException
{
    public DataPathException(string requestedPath, string rootPath, string problem)
        : base($"data path '{requestedPath}' rejected: {problem} (data root: {rootPath}).")
        => (RequestedPath, RootPath) = (requestedPath, rootPath);

    /// <summary>The path as the caller gave it.</summary>
    public string RequestedPath { get; }

    /// <summary>The data root it had to stay inside.</summary>
    public string RootPath { get; }
}
