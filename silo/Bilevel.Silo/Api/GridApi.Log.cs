namespace Bilevel.Silo.Api;

public static partial class GridApi
{
    internal static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Sweep {SweepId} '{Name}' submitted with {Trials} trials")]
        public static partial void SweepSubmitted(ILogger logger, long sweepId, string name, int trials);

        [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "Unexpected error answering {Method} {Path} (trace {TraceId})")]
        public static partial void UnexpectedError(ILogger logger, Exception exception, string method, string path, string traceId);

        [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Bad request {Method} {Path}: {Status} {Reason}")]
        public static partial void BadRequest(ILogger logger, string method, string path, int status, string reason);
    }
}
