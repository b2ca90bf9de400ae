using System.Text;
using Bilevel.Contracts;
using Microsoft.Net.Http.Headers;

namespace Bilevel.Silo.Api;

/// <summary>
/// Reads a submitted spec's body: its format from the Content-Type (JSON: <c>application/json</c> or any
/// <c>+json</c>; YAML: <c>application/yaml</c>, <c>application/x-yaml</c>, <c>text/yaml</c>, <c>text/x-yaml</c>),
/// at most <see cref="SpecLimits.MaxDocumentBytes"/> bytes (413 past that, even without a Content-Length), strict
/// UTF-8.
/// </summary>
internal static class SpecBody
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static bool TryGetFormat(HttpRequest request, out SpecFormat format, out IResult? problem)
    {
        format = SpecFormat.Json;
        problem = null;
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type) || type.MediaType.Value is not { } media)
        {
            problem = UnsupportedType(request.ContentType);
            return false;
        }
        if (type.Charset.HasValue && !type.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase))
        {
            problem = Problems.Field(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type.", "Content-Type",
                $"the charset must be utf-8; got '{type.Charset}'");
            return false;
        }
        if (media.Equals("application/json", StringComparison.OrdinalIgnoreCase) || media.EndsWith("+json", StringComparison.OrdinalIgnoreCase))
            return true;
        if (media.ToLowerInvariant() is "application/yaml" or "application/x-yaml" or "text/yaml" or "text/x-yaml")
        {
            format = SpecFormat.Yaml;
            return true;
        }
        problem = UnsupportedType(request.ContentType);
        return false;
    }

    /// <summary>The body as text, or null with the problem (413 when too large, 400 when not UTF-8).</summary>
    public static async Task<(string? Text, IResult? Problem)> ReadAsync(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength > maxBytes)
            return (null, TooLarge(request.ContentLength.Value, maxBytes));
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        long total = 0;
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            // Past the limit the rest is read and dropped (up to Kestrel's own, larger limit), so that the client,
            // still sending, gets the 413 rather than a connection reset.
            total += read;
            if (total <= maxBytes)
                buffer.Write(chunk, 0, read);
        }
        if (total > maxBytes)
            return (null, TooLarge(total, maxBytes));
        var bytes = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        if (bytes.StartsWith(Encoding.UTF8.Preamble))
            bytes = bytes[Encoding.UTF8.Preamble.Length..];
        try
        {
            return (StrictUtf8.GetString(bytes), null);
        }
        catch (DecoderFallbackException e)
        {
            return (null, Problems.Validation([new FieldError("$", $"the body is not valid UTF-8 (at byte {e.Index})")]));
        }
    }

    private static IResult TooLarge(long? length, int maxBytes) =>
        Problems.TooLarge("$", length is { } n
            ? $"the document is {n} bytes; at most {maxBytes} are allowed"
            : $"the document is larger than the {maxBytes} bytes allowed");

    private static IResult UnsupportedType(string? contentType) =>
        Problems.Field(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type.", "Content-Type",
            $"must be application/json or application/yaml; got '{(string.IsNullOrEmpty(contentType) ? "(none)" : contentType)}'");
}
