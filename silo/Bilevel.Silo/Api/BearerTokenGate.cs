using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Bilevel.Silo.Api;

/// <summary>
/// Checks a request's <c>Authorization: Bearer …</c> header against the configured token in constant time: both are
/// hashed with SHA-256 first, so neither the content nor the length of the token leaks through timing.
/// </summary>
internal sealed class BearerTokenGate
{
    private const string Scheme = "Bearer ";
    private readonly byte[]? _expected;

    public BearerTokenGate(IOptions<GridApiOptions> options)
    {
        var token = options.Value.Token;
        _expected = string.IsNullOrEmpty(token) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(token));
    }

    /// <summary>Whether a token is configured at all; without one every request is let through.</summary>
    public bool Enabled => _expected is not null;

    public bool Accepts(HttpRequest request)
    {
        if (_expected is null)
            return true;
        var header = request.Headers.Authorization;
        if (header.Count != 1 || header[0] is not { } value || !value.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
            return false;
        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(value.AsSpan(Scheme.Length).Trim().ToString()));
        return CryptographicOperations.FixedTimeEquals(presented, _expected);
    }
}

/// <summary>
/// Answers 401 with problem details to every request without the token, unless its endpoint allows anonymous
/// access (health, the dashboard's static files). Requests that match no endpoint need the token too, so an
/// unauthenticated caller cannot even probe which paths exist.
/// </summary>
internal sealed class BearerTokenMiddleware(RequestDelegate next, BearerTokenGate gate)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (!gate.Enabled
            || context.GetEndpoint()?.Metadata.GetMetadata<Microsoft.AspNetCore.Authorization.IAllowAnonymous>() is not null
            || gate.Accepts(context.Request))
        {
            await next(context).ConfigureAwait(false);
            return;
        }
        context.Response.Headers.WWWAuthenticate = "Bearer";
        await Problems.Write(context, StatusCodes.Status401Unauthorized, "Authentication is required.",
            "Authorization", "send the API token as 'Authorization: Bearer <token>' (the silo's Silo:Api:Token or BILEVEL_API_TOKEN)").ConfigureAwait(false);
    }
}
