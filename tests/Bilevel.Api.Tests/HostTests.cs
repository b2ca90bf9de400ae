using System.Net;
using System.Reflection;
using System.Text.Json;
using Bilevel.Api.Tests.Infrastructure;
using Bilevel.Contracts;
using Bilevel.Grid;

namespace Bilevel.Api.Tests;

[Collection(ApiCollection.Name)]
public sealed class HostTests(ApiHost host)
{
    [Fact]
    public async Task The_openapi_document_describes_every_api_route()
    {
        using var response = await host.Http.GetAsync("openapi/v1.json");
        var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var paths = document.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToHashSet();
        foreach (var path in new[]
                 {
                     "/api/sweeps", "/api/sweeps/{sweepId}", "/api/sweeps/{sweepId}/pause", "/api/sweeps/{sweepId}/resume",
                     "/api/sweeps/{sweepId}/cancel", "/api/sweeps/{sweepId}/best", "/api/sweeps/{sweepId}/trials",
                     "/api/sweeps/{sweepId}/export.csv", "/api/trials", "/api/trials/{trialId}", "/api/trials/{trialId}/metrics",
                     "/api/trials/{trialId}/curves", "/api/workers", "/health",
                 })
        {
            Assert.Contains(path, paths);
        }
        Assert.DoesNotContain("/dashboard.js", paths);
        Assert.Equal("bearer", document.GetProperty("components").GetProperty("securitySchemes").GetProperty("bearer").GetProperty("scheme").GetString());
        var submit = document.GetProperty("paths").GetProperty("/api/sweeps").GetProperty("post").GetProperty("requestBody").GetProperty("content");
        Assert.True(submit.TryGetProperty("application/yaml", out _));
        Assert.True(submit.TryGetProperty("application/json", out _));
    }

    [Fact]
    public async Task The_dashboard_page_and_script_are_served_without_a_token_and_load_nothing_external()
    {
        using var page = await host.Anonymous.GetAsync("");
        using var script = await host.Anonymous.GetAsync("dashboard.js");
        var html = await page.Content.ReadAsStringAsync();
        var js = await script.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<canvas", html, StringComparison.Ordinal);
        Assert.Contains("dashboard.js", html, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
        Assert.Contains("sessionStorage", js, StringComparison.Ordinal);
        Assert.Contains("Authorization", js, StringComparison.Ordinal);
        Assert.Contains("default-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.DoesNotContain("http://", html + js, StringComparison.Ordinal);
        Assert.DoesNotContain("https://", html + js, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_query_parameters_are_named()
    {
        using var sweeps = await host.Http.GetAsync("api/sweeps?pagesize=3");
        using var workers = await host.Http.GetAsync("api/workers?all=1");

        await Problem.AssertAsync(sweeps, HttpStatusCode.BadRequest, "$.pagesize");
        await Problem.AssertAsync(workers, HttpStatusCode.BadRequest, "$.all");
    }
}

/// <summary>A host whose store fails every call: unexpected errors are a 500 problem that leaks nothing.</summary>
public sealed class BrokenStoreHost : ApiHost
{
    protected override IGridStore CreateStore(string directory) => FailingStore.Create();

    protected override string? ConfiguredToken => null;

    public class FailingStore : DispatchProxy
    {
        public const string Secret = "Host=db.internal;Password=hunter2";

        public static IGridStore Create() => DispatchProxy.Create<IGridStore, FailingStore>();

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) => targetMethod?.Name switch
        {
            nameof(IGridStore.MigrateAsync) => Task.CompletedTask,
            nameof(IGridStore.DisposeAsync) => ValueTask.CompletedTask,
            _ => throw new InvalidOperationException($"could not connect to {Secret}"),
        };
    }
}

public sealed class UnexpectedErrorTests(BrokenStoreHost host) : IClassFixture<BrokenStoreHost>
{
    [Fact]
    public async Task An_unexpected_exception_is_a_500_problem_without_internals_and_the_host_stays_up()
    {
        using var workers = await host.Http.GetAsync("api/workers");
        using var sweep = await host.Http.GetAsync("api/sweeps/1");
        using var health = await host.Http.GetAsync("health");

        foreach (var response in new[] { workers, sweep })
        {
            var body = (await Problem.AssertAsync(response, HttpStatusCode.InternalServerError, null)).ToString();
            Assert.DoesNotContain("hunter2", body, StringComparison.Ordinal);
            Assert.DoesNotContain("InvalidOperationException", body, StringComparison.Ordinal);
            Assert.DoesNotContain("at Bilevel", body, StringComparison.Ordinal);
        }
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }
}

/// <summary>A host with no token configured: the API is open.</summary>
public sealed class OpenHost : ApiHost
{
    protected override string? ConfiguredToken => null;
}

public sealed class OpenHostTests(OpenHost host) : IClassFixture<OpenHost>
{
    [Fact]
    public async Task Without_a_configured_token_requests_need_none()
    {
        using var workers = await host.Anonymous.GetAsync("api/workers");
        var sweep = await host.Client.SubmitSweepAsync(Specs.MinimalJson, SpecFormat.Json, default);

        Assert.Equal(HttpStatusCode.OK, workers.StatusCode);
        Assert.Equal(SweepState.Active, sweep.State);
    }
}
