namespace Bilevel.Contracts;

/// <summary>Bounds of every paged listing.</summary>
public static class PagingLimits
{
    public const int DefaultPageSize = 50;
    public const int MaxPageSize = 500;
    public const int MaxOffset = 1_000_000;
}
