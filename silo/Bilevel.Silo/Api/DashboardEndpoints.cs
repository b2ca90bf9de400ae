using System.Reflection;

namespace Bilevel.Silo.Api;

/// <summary>
/// The dashboard: <c>wwwroot/index.html</c> at <c>/</c> and its script, embedded in the assembly so that any host
/// serves them whatever its content root. Static and data-free, so they need no token; the page asks for one and
/// sends it with every API call. A strict Content-Security-Policy keeps the page to its own origin.
/// </summary>
internal static class DashboardEndpoints
{
    private const string Policy = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";
    private static readonly Assembly Assembly = typeof(DashboardEndpoints).Assembly;

    public static void Map(WebApplication app)
    {
        MapFile(app, "/", "index.html", "text/html; charset=utf-8");
        MapFile(app, "/index.html", "index.html", "text/html; charset=utf-8");
        MapFile(app, "/dashboard.js", "dashboard.js", "text/javascript; charset=utf-8");
    }

    private static void MapFile(WebApplication app, string route, string file, string contentType)
    {
        var content = Load(file);
        app.MapGet(route, (HttpContext context) =>
            {
                context.Response.Headers.ContentSecurityPolicy = Policy;
                context.Response.Headers.XContentTypeOptions = "nosniff";
                context.Response.Headers.CacheControl = "no-cache";
                return TypedResults.Bytes(content, contentType);
            })
            .AllowAnonymous()
            .ExcludeFromDescription();
    }

    private static byte[] Load(string file)
    {
        using var stream = Assembly.GetManifestResourceStream($"Bilevel.Silo.wwwroot.{file}")
            ?? throw new InvalidOperationException($"The dashboard file wwwroot/{file} is not embedded in {Assembly.GetName().Name}.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
