using System.Net;
using System.Text;
using System.Text.Json;
using Bilevel.Api.Tests.Infrastructure;
using Bilevel.Contracts;
using Bilevel.Grid.Tests.Specs;

namespace Bilevel.Api.Tests;

/// <summary>
/// A few hundred malformed specs through POST /api/sweeps, as JSON and as YAML: each answered 400 (413 when too
/// large) with problem details naming the mutated field, none 500, and the host still healthy afterwards.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class SpecFuzzTests(ApiHost host)
{
    [Fact]
    public async Task Every_malformed_spec_is_a_400_naming_the_field_never_a_500_and_the_host_stays_up()
    {
        var corpus = SpecMutations.All().ToList();
        var before = (await host.Client.ListSweepsAsync(new SweepListRequest { PageSize = 1 }, default)).Total;
        var failures = new List<string>();

        foreach (var mutation in corpus)
        {
            foreach (var type in new[] { "application/json", "application/yaml" })
            {
                using var response = await host.Http.PostAsync("api/sweeps", new StringContent(mutation.Json, Encoding.UTF8, type));
                var body = await response.Content.ReadAsStringAsync();
                if (response.StatusCode != HttpStatusCode.BadRequest)
                {
                    failures.Add($"{type} {mutation.Description}: {(int)response.StatusCode} {Clip(body)}");
                    continue;
                }
                if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
                {
                    failures.Add($"{type} {mutation.Description}: not problem details");
                    continue;
                }
                var errors = JsonDocument.Parse(body).RootElement.GetProperty("errors");
                var fields = errors.EnumerateObject().Select(e => e.Name).ToList();
                if (fields.Count == 0 || fields.Any(f => !f.StartsWith('$')))
                    failures.Add($"{type} {mutation.Description}: errors without a JSON path: {Clip(body)}");
                else if (mutation.ExpectedPath is { } path && !fields.Contains(path))
                    failures.Add($"{type} {mutation.Description}: no error at {path}; got {string.Join(", ", fields)}");
            }
        }

        using var health = await host.Anonymous.GetAsync("health");
        var after = (await host.Client.ListSweepsAsync(new SweepListRequest { PageSize = 1 }, default)).Total;
        Assert.True(corpus.Count >= 300, $"the corpus has only {corpus.Count} specs");
        Assert.True(failures.Count == 0, $"{failures.Count} of {corpus.Count * 2} went wrong:\n{string.Join("\n", failures.Take(30))}");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(before, after);
    }

    [Fact]
    public async Task A_body_over_the_document_limit_is_413_naming_its_size_with_or_without_a_content_length()
    {
        var limit = SpecLimits.Default.MaxDocumentBytes;
        var oversize = Specs.MinimalJson[..^1] + ", \"pad\": \"" + new string('x', limit) + "\"}";
        var huge = "name: " + new string('y', 3 * limit);

        using var sized = await host.Http.PostAsync("api/sweeps", new StringContent(oversize, Encoding.UTF8, "application/json"));
        using var chunked = await host.Http.PostAsync("api/sweeps", Chunked(oversize + new string(' ', limit / 2), "application/json"));
        // Past Kestrel's own limit too: announced by Content-Length, refused before the client sends it.
        using var expect = new HttpRequestMessage(HttpMethod.Post, "api/sweeps") { Content = new StringContent(huge, Encoding.UTF8, "application/yaml") };
        expect.Headers.ExpectContinue = true;
        using var announced = await host.Http.SendAsync(expect);
        // Past Kestrel's limit without a length: the server cuts the connection; whatever the client sees, never a 500.
        HttpStatusCode? cut = null;
        try
        {
            using var response = await host.Http.PostAsync("api/sweeps", Chunked(huge, "application/yaml"));
            cut = response.StatusCode;
        }
        catch (HttpRequestException)
        {
        }
        using var health = await host.Anonymous.GetAsync("health");

        var problem = await Problem.AssertAsync(sized, HttpStatusCode.RequestEntityTooLarge, "$");
        Assert.Contains($"at most {limit}", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await Problem.AssertAsync(chunked, HttpStatusCode.RequestEntityTooLarge, "$");
        await Problem.AssertAsync(announced, HttpStatusCode.RequestEntityTooLarge, "$");
        Assert.True(cut is null or HttpStatusCode.RequestEntityTooLarge, $"got {cut}");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task Unsupported_media_types_bad_encodings_and_empty_bodies_are_rejected_by_field()
    {
        using var xml = await host.Http.PostAsync("api/sweeps", new StringContent("<spec/>", Encoding.UTF8, "application/xml"));
        using var none = await host.Http.PostAsync("api/sweeps", new ByteArrayContent(Encoding.UTF8.GetBytes(Specs.MinimalJson)));
        var latin1 = new ByteArrayContent([(byte)'{', 0xff, 0xfe, (byte)'}']);
        latin1.Headers.ContentType = new("application/json");
        using var notUtf8 = await host.Http.PostAsync("api/sweeps", latin1);
        using var empty = await host.Http.PostAsync("api/sweeps", new StringContent("", Encoding.UTF8, "application/json"));
        using var emptyYaml = await host.Http.PostAsync("api/sweeps", new StringContent("", Encoding.UTF8, "application/yaml"));
        using var utf16 = await host.Http.PostAsync("api/sweeps", new StringContent(Specs.MinimalJson, Encoding.Unicode, "application/json"));

        await Problem.AssertAsync(xml, HttpStatusCode.UnsupportedMediaType, "Content-Type");
        await Problem.AssertAsync(none, HttpStatusCode.UnsupportedMediaType, "Content-Type");
        await Problem.AssertAsync(notUtf8, HttpStatusCode.BadRequest, "$");
        await Problem.AssertAsync(empty, HttpStatusCode.BadRequest, null);
        await Problem.AssertAsync(emptyYaml, HttpStatusCode.BadRequest, null);
        await Problem.AssertAsync(utf16, HttpStatusCode.UnsupportedMediaType, "Content-Type");
    }

    private static HttpContent Chunked(string text, string type)
    {
        var content = new StreamContent(new NonSeekable(Encoding.UTF8.GetBytes(text)));
        content.Headers.ContentType = new(type);
        return content;
    }

    private static string Clip(string text) => text.Length > 300 ? text[..300] + "…" : text;

    /// <summary>A stream of unknown length, so the body goes out chunked without a Content-Length.</summary>
    private sealed class NonSeekable(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}
