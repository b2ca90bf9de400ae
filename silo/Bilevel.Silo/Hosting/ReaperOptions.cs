namespace Bilevel.Silo.Hosting;

/// <summary>The lease reaper every silo hosts (one pass at a time grid-wide: the store elects it), from <c>Silo:Reaper</c>.</summary>
public sealed class ReaperOptions
{
    public const string SectionName = "Silo:Reaper";

    /// <summary>Whether this silo runs reaper passes. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Time between passes. Default 2 seconds.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(2);
}
