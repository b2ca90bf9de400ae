namespace Bilevel.Tasks.Data;

/// <summary>
/// A data file that exists but does not hold what its format promises (bad magic, truncated, dimensions that do not
/// match its length, out-of-range labels). The message names the file, what was found and what was expected.
/// </summary>
public sealed class DataFormatException : IOException
{
    public DataFormatException(string filePath, string problem)
        : base($"{filePath}: {problem}") => FilePath = filePath;

    public DataFormatException(string filePath, string problem, Exception innerException)
        : base($"{filePath}: {problem}", innerException) => FilePath = filePath;

    /// <summary>The file that was rejected (full path).</summary>
    public string FilePath { get; }
}
