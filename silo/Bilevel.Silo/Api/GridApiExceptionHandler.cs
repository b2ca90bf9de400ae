using Microsoft.AspNetCore.Diagnostics;

namespace Bilevel.Silo.Api;

/// <summary>
/// The last line: a request Kestrel refused while reading it (body too large → 413, malformed → 400) gets its own
/// status as problem details; any other exception is logged with the trace id and answered 500 with a problem that
/// names the trace id and nothing of the exception. A request the client abandoned is not an error.
/// </summary>
internal sealed class GridApiExceptionHandler(IProblemDetailsService problems, ILogger<GridApiExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var request = httpContext.Request;
        int status;
        string title, detail;
        switch (exception)
        {
            case BadHttpRequestException bad:
                status = bad.StatusCode;
                title = status == StatusCodes.Status413PayloadTooLarge ? "The request is too large." : "The request is malformed.";
                detail = status == StatusCodes.Status413PayloadTooLarge
                    ? "$: the body is larger than this server accepts"
                    : "$: the request could not be read";
                GridApi.Log.BadRequest(logger, request.Method, request.Path, status, bad.Message);
                break;
            case OperationCanceledException when httpContext.RequestAborted.IsCancellationRequested:
                httpContext.Response.StatusCode = 499;
                return true;
            default:
                status = StatusCodes.Status500InternalServerError;
                title = "An unexpected error occurred.";
                detail = $"The server could not answer; quote trace id {httpContext.TraceIdentifier} when reporting this.";
                GridApi.Log.UnexpectedError(logger, exception, request.Method, request.Path, httpContext.TraceIdentifier);
                break;
        }
        if (httpContext.Response.HasStarted)
            return true;
        httpContext.Response.StatusCode = status;
        var body = new Microsoft.AspNetCore.Mvc.ProblemDetails { Status = status, Title = title, Detail = detail };
        if (status != StatusCodes.Status500InternalServerError)
            body.Extensions["errors"] = new Dictionary<string, string[]>(StringComparer.Ordinal) { ["$"] = [detail[3..]] };
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = body,
            Exception = exception,
        }).ConfigureAwait(false);
    }
}
