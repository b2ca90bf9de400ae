using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Bilevel.Contracts;

namespace Bilevel.Client;

/// <summary>
/// A typed client of the grid's HTTP API, one method per endpoint. Every call is async and cancellable; a refused
/// request throws <see cref="GridApiException"/> with the problem details (status, offending field, message);
/// transport failures surface as <see cref="HttpRequestException"/>. Thread-safe like the HttpClient it wraps.
/// </summary>
public sealed class GridClient : IDisposable
{
    private static readonly MediaTypeHeaderValue Yaml = new("application/yaml") { CharSet = "utf-8" };
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;

    /// <summary>Wraps <paramref name="http"/>, whose BaseAddress is the server; sends <paramref name="token"/> when given.</summary>
    public GridClient(HttpClient http, string? token = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (http.BaseAddress is null)
            throw new ArgumentException("The HttpClient needs a BaseAddress: the grid server's URL.", nameof(http));
        _http = http;
        Token = string.IsNullOrEmpty(token) ? null : token;
    }

    /// <summary>A client with its own HttpClient for <paramref name="server"/>.</summary>
    public GridClient(Uri server, string? token = null, TimeSpan? timeout = null)
        : this(new HttpClient { BaseAddress = server ?? throw new ArgumentNullException(nameof(server)), Timeout = timeout ?? TimeSpan.FromSeconds(100) }, token)
    {
        _ownsHttp = true;
    }

    public Uri BaseAddress => _http.BaseAddress!;

    private string? Token { get; }

    // Sweeps

    /// <summary>Submits a spec as text (JSON or YAML); the server validates it.</summary>
    public Task<SweepView> SubmitSweepAsync(string specText, SpecFormat format, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(specText);
        var content = new StringContent(specText, Encoding.UTF8);
        content.Headers.ContentType = format == SpecFormat.Yaml ? Yaml : new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        return SendAsync<SweepView>(HttpMethod.Post, "api/sweeps", content, cancellationToken);
    }

    /// <summary>Submits a spec built in code.</summary>
    public Task<SweepView> SubmitSweepAsync(SweepSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return SubmitSweepAsync(JsonSerializer.Serialize(spec, ContractJson.Options), SpecFormat.Json, cancellationToken);
    }

    public Task<PageView<SweepView>> ListSweepsAsync(SweepListRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var query = new Query()
            .Add("state", request.State is { } s ? Wire(s) : null)
            .Add("pageSize", request.PageSize == PagingLimits.DefaultPageSize ? null : Number(request.PageSize))
            .Add("cursor", request.Cursor);
        return SendAsync<PageView<SweepView>>(HttpMethod.Get, "api/sweeps" + query, null, cancellationToken);
    }

    public Task<SweepView> GetSweepAsync(long sweepId, CancellationToken cancellationToken) =>
        SendAsync<SweepView>(HttpMethod.Get, $"api/sweeps/{Number(sweepId)}", null, cancellationToken);

    /// <summary>Pauses the sweep (no-op when paused); 409 as <see cref="GridApiException"/> when it has ended.</summary>
    public Task<SweepView> PauseSweepAsync(long sweepId, CancellationToken cancellationToken) => MoveAsync(sweepId, "pause", cancellationToken);

    public Task<SweepView> ResumeSweepAsync(long sweepId, CancellationToken cancellationToken) => MoveAsync(sweepId, "resume", cancellationToken);

    public Task<SweepView> CancelSweepAsync(long sweepId, CancellationToken cancellationToken) => MoveAsync(sweepId, "cancel", cancellationToken);

    /// <summary>The best completed trial by the last value of <paramref name="metric"/>; null when no completed trial has it.</summary>
    public async Task<BestTrialView?> GetBestTrialAsync(long sweepId, string metric, MetricGoal goal, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(metric);
        var query = new Query().Add("metric", metric).Add("goal", Wire(goal));
        try
        {
            return await SendAsync<BestTrialView>(HttpMethod.Get, $"api/sweeps/{Number(sweepId)}/best{query}", null, cancellationToken).ConfigureAwait(false);
        }
        catch (GridApiException e) when (e.StatusCode == HttpStatusCode.NotFound && e.Field == "$.metric")
        {
            return null;
        }
    }

    /// <summary>The sweep's trials as CSV text (see the API's export for the columns).</summary>
    public async Task<string> ExportCsvAsync(long sweepId, CancellationToken cancellationToken)
    {
        using var response = await SendRawAsync(HttpMethod.Get, $"api/sweeps/{Number(sweepId)}/export.csv", null, cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Streams the sweep's CSV into <paramref name="destination"/>.</summary>
    public async Task ExportCsvAsync(long sweepId, Stream destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destination);
        using var response = await SendRawAsync(HttpMethod.Get, $"api/sweeps/{Number(sweepId)}/export.csv", null, cancellationToken).ConfigureAwait(false);
        await response.Content.CopyToAsync(destination, cancellationToken).ConfigureAwait(false);
    }

    // Trials

    /// <summary>Filtered, sorted, paged trials (of one sweep when <see cref="TrialListRequest.SweepId"/> is set).</summary>
    public Task<PageView<TrialView>> ListTrialsAsync(TrialListRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var query = new Query()
            .Add("sweepId", request.SweepId is { } id ? Number(id) : null)
            .Add("state", request.States is { Count: > 0 } states ? string.Join(',', states.Select(Wire)) : null)
            .Add("sort", request.SortBy == TrialSortField.Id && !request.Descending ? null : (request.Descending ? "-" : "") + Wire(request.SortBy))
            .Add("pageSize", request.PageSize == PagingLimits.DefaultPageSize ? null : Number(request.PageSize))
            .Add("cursor", request.Cursor)
            .Add("offset", request.Offset == 0 ? null : Number(request.Offset));
        return SendAsync<PageView<TrialView>>(HttpMethod.Get, "api/trials" + query, null, cancellationToken);
    }

    public Task<TrialView> GetTrialAsync(long trialId, CancellationToken cancellationToken) =>
        SendAsync<TrialView>(HttpMethod.Get, $"api/trials/{Number(trialId)}", null, cancellationToken);

    /// <summary>The trial's metric values ordered by name and step.</summary>
    public async Task<IReadOnlyList<MetricPointView>> GetMetricsAsync(MetricsRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return await SendAsync<MetricPointView[]>(HttpMethod.Get, $"api/trials/{Number(request.TrialId)}/metrics{MetricsQuery(request)}", null, cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>The trial's metrics as one curve per name.</summary>
    public async Task<IReadOnlyList<MetricCurve>> GetCurvesAsync(MetricsRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return await SendAsync<MetricCurve[]>(HttpMethod.Get, $"api/trials/{Number(request.TrialId)}/curves{MetricsQuery(request)}", null, cancellationToken)
            .ConfigureAwait(false);
    }

    // Workers and health

    public async Task<IReadOnlyList<WorkerView>> ListWorkersAsync(CancellationToken cancellationToken) =>
        await SendAsync<WorkerView[]>(HttpMethod.Get, "api/workers", null, cancellationToken).ConfigureAwait(false);

    /// <summary>True when <c>/health</c> answers 200 (it needs no token).</summary>
    public async Task<bool> IsHealthyAsync(CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(new Uri("health", UriKind.Relative), cancellationToken).ConfigureAwait(false);
        return response.StatusCode == HttpStatusCode.OK;
    }

    public void Dispose()
    {
        if (_ownsHttp)
            _http.Dispose();
    }

    private Task<SweepView> MoveAsync(long sweepId, string verb, CancellationToken cancellationToken) =>
        SendAsync<SweepView>(HttpMethod.Post, $"api/sweeps/{Number(sweepId)}/{verb}", null, cancellationToken);

    private static string MetricsQuery(MetricsRequest request) => new Query()
        .Add("name", request.Names is { Count: > 0 } names ? string.Join(',', names) : null)
        .Add("fromStep", request.FromStep is { } from ? Number(from) : null)
        .Add("toStep", request.ToStep is { } to ? Number(to) : null)
        .Add("limit", request.Limit == 10_000 ? null : Number(request.Limit))
        .ToString();

    private async Task<T> SendAsync<T>(HttpMethod method, string path, HttpContent? content, CancellationToken cancellationToken)
    {
        using var response = await SendRawAsync(method, path, content, cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadFromJsonAsync<T>(ContractJson.Options, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidDataException($"{method} {path} answered {(int)response.StatusCode} with an empty body.");
    }

    private async Task<HttpResponseMessage> SendRawAsync(HttpMethod method, string path, HttpContent? content, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative)) { Content = content };
        if (Token is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (response.IsSuccessStatusCode)
            return response;
        using (response)
            throw await ProblemAsync(response, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<GridApiException> ProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        var title = response.ReasonPhrase ?? response.StatusCode.ToString();
        string? detail = null;
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        try
        {
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                if (root.TryGetProperty("title", out var t) && t.ValueKind == JsonValueKind.String)
                    title = t.GetString()!;
                if (root.TryGetProperty("detail", out var d) && d.ValueKind == JsonValueKind.String)
                    detail = d.GetString();
                if (root.TryGetProperty("errors", out var e) && e.ValueKind == JsonValueKind.Object)
                {
                    foreach (var field in e.EnumerateObject())
                    {
                        errors[field.Name] = field.Value.ValueKind == JsonValueKind.Array
                            ? field.Value.EnumerateArray().Select(m => m.ValueKind == JsonValueKind.String ? m.GetString()! : m.GetRawText()).ToArray()
                            : [field.Value.ToString()];
                    }
                }
            }
        }
        catch (JsonException)
        {
            detail = text.Length > 500 ? text[..500] + "…" : text;
        }
        return new GridApiException(response.StatusCode, title, detail, errors);
    }

    private static string Wire<T>(T value) where T : struct, Enum => JsonSerializer.Serialize(value, ContractJson.Options).Trim('"');

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    private sealed class Query
    {
        private readonly StringBuilder _text = new();

        public Query Add(string name, string? value)
        {
            if (value is not null)
                _text.Append(_text.Length == 0 ? '?' : '&').Append(name).Append('=').Append(Uri.EscapeDataString(value));
            return this;
        }

        public override string ToString() => _text.ToString();
    }
}
