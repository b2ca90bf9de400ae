using System.Net;

namespace Bilevel.Client;

/// <summary>
/// The grid API refused a request: its status code and RFC 9457 problem details, with the offending fields and
/// what was wrong with each (<see cref="Errors"/>, keyed by JSON path such as <c>$.search.parameters.lr.low</c>,
/// <c>$.pageSize</c> or <c>sweepId</c>).
/// </summary>
public sealed class GridApiException : Exception
{
    public GridApiException(HttpStatusCode statusCode, string title, string? detail, IReadOnlyDictionary<string, string[]> errors)
        : base(Describe(statusCode, title, detail, errors))
    {
        StatusCode = statusCode;
        Title = title;
        Detail = detail;
        Errors = errors;
    }

    public HttpStatusCode StatusCode { get; }

    public string Title { get; }

    public string? Detail { get; }

    /// <summary>Messages by offending field; empty when the server named none.</summary>
    public IReadOnlyDictionary<string, string[]> Errors { get; }

    /// <summary>The first offending field, or null.</summary>
    public string? Field => Errors.Keys.FirstOrDefault();

    /// <summary>The first message about <see cref="Field"/>, else the detail, else the title.</summary>
    public string FieldMessage => Errors.Values.FirstOrDefault()?.FirstOrDefault() ?? Detail ?? Title;

    private static string Describe(HttpStatusCode status, string title, string? detail, IReadOnlyDictionary<string, string[]> errors)
    {
        var lines = errors.SelectMany(e => e.Value.Select(m => $"{e.Key}: {m}")).ToList();
        var what = lines.Count > 0 ? string.Join("; ", lines) : detail ?? "";
        return $"{(int)status} {title}{(what.Length > 0 ? " " + what : "")}";
    }
}
