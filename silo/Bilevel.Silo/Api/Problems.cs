using Bilevel.Contracts;

namespace Bilevel.Silo.Api;

/// <summary>
/// RFC 9457 problem details as the API writes them: every problem carries an <c>errors</c> object keyed by the
/// offending field (a JSON path such as <c>$.search.parameters.lr.low</c>, a query parameter as <c>$.pageSize</c>,
/// a route value such as <c>sweepId</c>, or a header name), the shape of ASP.NET Core's validation problems.
/// </summary>
internal static class Problems
{
    public const string ValidationTitle = "The request is not valid.";

    /// <summary>400 with every error, grouped by field.</summary>
    public static IResult Validation(IReadOnlyList<FieldError> errors, string title = ValidationTitle)
    {
        var problem = ValidationProblem.FromErrors(title, errors);
        return TypedResults.ValidationProblem(
            problem.Errors.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal),
            detail: problem.Detail,
            title: title);
    }

    /// <summary>A problem with one offending field.</summary>
    public static IResult Field(int status, string title, string field, string message) =>
        TypedResults.Problem(
            detail: $"{field}: {message}",
            statusCode: status,
            title: title,
            extensions: new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["errors"] = new Dictionary<string, string[]>(StringComparer.Ordinal) { [field] = [message] },
            });

    public static IResult NotFound(string field, string message) =>
        Field(StatusCodes.Status404NotFound, "Not found.", field, message);

    public static IResult SweepNotFound(long sweepId) => NotFound("sweepId", $"there is no sweep {sweepId}");

    public static IResult TrialNotFound(long trialId) => NotFound("trialId", $"there is no trial {trialId}");

    public static IResult TooLarge(string field, string message) =>
        Field(StatusCodes.Status413PayloadTooLarge, "The request is too large.", field, message);

    public static Task Write(HttpContext context, int status, string title, string field, string message) =>
        Field(status, title, field, message).ExecuteAsync(context);
}
