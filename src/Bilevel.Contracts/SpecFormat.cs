namespace Bilevel.Contracts;

/// <summary>The text formats a sweep spec may be written in.</summary>
public enum SpecFormat
{
    Json,
    Yaml,
}
