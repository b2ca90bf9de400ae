namespace Bilevel.Contracts;

/// <summary>A sweep listing, newest first: an optional state filter, keyset paging by cursor.</summary>
public sealed record SweepListRequest
{
    public SweepState? State { get; init; }

    public int PageSize { get; init; } = PagingLimits.DefaultPageSize;

    public string? Cursor { get; init; }

    public IReadOnlyList<FieldError> Validate() =>
        PageSize is < 1 or > PagingLimits.MaxPageSize
            ? [new("$.pageSize", $"must be from 1 to {PagingLimits.MaxPageSize}; got {PageSize}")]
            : [];
}
