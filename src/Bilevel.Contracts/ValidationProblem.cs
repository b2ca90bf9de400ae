namespace Bilevel.Contracts;

/// <summary>
/// An RFC 9457 problem details body for a rejected request, with the errors grouped by JSON path — the shape
/// ASP.NET Core's validation problems have, so clients read both alike.
/// </summary>
public sealed record ValidationProblem(
    string Type,
    string Title,
    int Status,
    string Detail,
    IReadOnlyDictionary<string, string[]> Errors)
{
    public const string ProblemType = "https://tools.ietf.org/html/rfc9110#section-15.5.1";

    public static ValidationProblem FromErrors(string title, IReadOnlyList<FieldError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        var grouped = errors
            .GroupBy(e => e.Path, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray(), StringComparer.Ordinal);
        var detail = errors.Count == 1 ? errors[0].ToString() : $"{errors.Count} errors; the first: {errors[0]}";
        return new(ProblemType, title, 400, detail, grouped);
    }
}
