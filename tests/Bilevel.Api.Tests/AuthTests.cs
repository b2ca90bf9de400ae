using System.Net;
using System.Net.Http.Headers;
using Bilevel.Api.Tests.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;

namespace Bilevel.Api.Tests;

/// <summary>With a token configured, every endpoint but health (and the dashboard's static files) answers 401 without it.</summary>
[Collection(ApiCollection.Name)]
public sealed class AuthTests(ApiHost host)
{
    private static readonly string[] Anonymous = ["/health", "/", "/index.html", "/dashboard.js"];

    private IReadOnlyList<(string Method, string Path, bool AllowsAnonymous)> Endpoints() =>
        ((IEndpointRouteBuilder)host.App).DataSources
            .SelectMany(d => d.Endpoints)
            .OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m =>
                (m, "/" + System.Text.RegularExpressions.Regex.Replace(
                    e.RoutePattern.RawText!.TrimStart('/').Replace("{documentName}", "v1", StringComparison.Ordinal), "{[^}]+}", "1"),
                 e.Metadata.GetMetadata<IAllowAnonymous>() is not null)))
            .ToList();

    [Fact]
    public async Task Every_endpoint_but_health_and_the_dashboard_answers_401_without_the_token_or_with_a_wrong_one()
    {
        var endpoints = Endpoints();
        var guarded = endpoints.Where(e => !e.AllowsAnonymous).ToList();
        var failures = new List<string>();

        foreach (var (method, path, _) in guarded)
        {
            foreach (var authorization in new AuthenticationHeaderValue?[]
                     {
                         null, new("Bearer", "wrong"), new("Bearer", ApiHost.Token + "x"), new("Bearer", ApiHost.Token[..^1]),
                         new("Basic", ApiHost.Token), new("Bearer", ""),
                     })
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), path);
                request.Headers.Authorization = authorization;
                using var response = await host.Anonymous.SendAsync(request);
                if (response.StatusCode != HttpStatusCode.Unauthorized)
                    failures.Add($"{method} {path} with '{authorization}': {(int)response.StatusCode}");
                else if (response.Headers.WwwAuthenticate.ToString() != "Bearer" || response.Content.Headers.ContentType?.MediaType != "application/problem+json")
                    failures.Add($"{method} {path}: 401 without a Bearer challenge or problem details");
            }
        }

        Assert.True(guarded.Count >= 15, $"only {guarded.Count} guarded endpoints found: {string.Join(", ", guarded)}");
        Assert.Contains(guarded, e => e.Path == "/openapi/v1.json");
        Assert.Equal(Anonymous.Order(), endpoints.Where(e => e.AllowsAnonymous).Select(e => e.Path).Order());
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task Unknown_paths_need_the_token_too_and_health_needs_none()
    {
        using var unknown = await host.Anonymous.GetAsync("api/nothing-here");
        using var unknownWithToken = await host.Http.GetAsync("api/nothing-here");
        using var health = await host.Anonymous.GetAsync("health");

        await Problem.AssertAsync(unknown, HttpStatusCode.Unauthorized, "Authorization");
        Assert.Equal(HttpStatusCode.NotFound, unknownWithToken.StatusCode);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Contains("healthy", await health.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_right_token_is_accepted_whatever_the_case_of_the_scheme()
    {
        foreach (var scheme in new[] { "Bearer", "bearer", "BEARER" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "api/workers");
            request.Headers.TryAddWithoutValidation("Authorization", $"{scheme} {ApiHost.Token}");
            using var response = await host.Anonymous.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }
}
