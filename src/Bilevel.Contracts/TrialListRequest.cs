namespace Bilevel.Contracts;

/// <summary>
/// A trial listing: filters (sweep, states), a sort column from a fixed set, and either a cursor from the previous
/// page (keyset paging) or an offset.
/// </summary>
public sealed record TrialListRequest
{
    public long? SweepId { get; init; }

    /// <summary>Only trials in one of these states; every state when null or empty.</summary>
    public IReadOnlyList<TrialState>? States { get; init; }

    public TrialSortField SortBy { get; init; } = TrialSortField.Id;

    public bool Descending { get; init; }

    public int PageSize { get; init; } = PagingLimits.DefaultPageSize;

    /// <summary>The <see cref="PageView{T}.NextCursor"/> of the previous page; excludes <see cref="Offset"/>.</summary>
    public string? Cursor { get; init; }

    public int Offset { get; init; }

    /// <summary>What is wrong with the request, by field name; empty when it is valid.</summary>
    public IReadOnlyList<FieldError> Validate()
    {
        var errors = new List<FieldError>();
        if (PageSize is < 1 or > PagingLimits.MaxPageSize)
            errors.Add(new("$.pageSize", $"must be from 1 to {PagingLimits.MaxPageSize}; got {PageSize}"));
        if (Offset is < 0 or > PagingLimits.MaxOffset)
            errors.Add(new("$.offset", $"must be from 0 to {PagingLimits.MaxOffset}; got {Offset}"));
        if (Cursor is not null && Offset != 0)
            errors.Add(new("$.cursor", "give either a cursor or an offset, not both"));
        if (States is { Count: > 5 })
            errors.Add(new("$.states", "lists more states than there are"));
        if (!Enum.IsDefined(SortBy))
            errors.Add(new("$.sortBy", $"must be one of: {string.Join(", ", Enum.GetNames<TrialSortField>())}"));
        return errors;
    }
}
