namespace Bilevel.Cli;

/// <summary>A command cannot go on: <see cref="Field"/> names the argument, option or spec field at fault.</summary>
internal sealed class CliException(string field, string message) : Exception(message)
{
    public string Field { get; } = field;
}
