namespace Bilevel.Contracts;

/// <summary>
/// One page of a listing. <see cref="NextCursor"/>, when set, fetches the page after this one (keyset paging: stable
/// while rows are added); <see cref="Total"/> counts every row matching the filter.
/// </summary>
public sealed record PageView<T>(IReadOnlyList<T> Items, string? NextCursor, long Total);
