using Bilevel.Contracts;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;

namespace Bilevel.Silo.Api;

/// <summary>
/// The grid's HTTP API as two calls a host makes: <see cref="AddGridApi"/> on its services (which must also hold an
/// <see cref="Bilevel.Grid.IGridStore"/>), <see cref="MapGridApi"/> on the built application. Endpoints live under
/// <c>/api</c> (see <see cref="SweepEndpoints"/>, <see cref="TrialEndpoints"/>, <see cref="WorkerEndpoints"/>), the
/// OpenAPI document at <c>/openapi/v1.json</c>, liveness at <c>/health</c> and the dashboard at <c>/</c>.
/// </summary>
public static partial class GridApi
{
    /// <summary>
    /// Registers the API's services: options from <c>Silo:Api</c> (token also from <c>BILEVEL_API_TOKEN</c>), the
    /// Kestrel body limit, problem details and the global exception handler, JSON settings of the contracts, the
    /// OpenAPI document and the spec reader (unless the host registered its own <see cref="SweepSpecReader"/>).
    /// </summary>
    public static IServiceCollection AddGridApi(this IServiceCollection services, IConfiguration configuration, Action<GridApiOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<GridApiOptions>().Configure(options =>
        {
            var section = configuration.GetSection(GridApiOptions.SectionName);
            options.Token = NonEmpty(section["Token"]) ?? NonEmpty(configuration[GridApiOptions.TokenVariable]);
            if (long.TryParse(section["MaxRequestBodyBytes"], out var maxBody) && maxBody > 0)
                options.MaxRequestBodyBytes = maxBody;
            configure?.Invoke(options);
        });
        services.AddSingleton<IConfigureOptions<KestrelServerOptions>, KestrelLimits>();
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<GridApiOptions>>().Value;
            return new SweepSpecReader(options.KnownEstimators, options.SpecLimits);
        });
        services.AddSingleton<BearerTokenGate>();
        services.AddProblemDetails();
        services.AddExceptionHandler<GridApiExceptionHandler>();
        services.ConfigureHttpJsonOptions(json =>
        {
            // The contracts' wire format (ContractJson.Options): camelCase, nulls left out, enums by their names.
            json.SerializerOptions.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull;
            json.SerializerOptions.AllowOutOfOrderMetadataProperties = true;
        });
        services.AddOpenApi(openApi => openApi.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Bilevel Grid API";
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>(StringComparer.Ordinal);
            document.Components.SecuritySchemes["bearer"] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "The silo's API token (Silo:Api:Token or BILEVEL_API_TOKEN), needed by every endpoint but /health when one is configured.",
            };
            document.Security ??= [];
            document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("bearer", document)] = [] });
            return Task.CompletedTask;
        }));
        return services;
    }

    /// <summary>
    /// Adds the exception handler, problem-details status pages and the bearer-token gate to the pipeline, and maps
    /// every endpoint. Call once, after <see cref="AddGridApi"/>.
    /// </summary>
    public static WebApplication MapGridApi(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseMiddleware<BearerTokenMiddleware>();

        app.MapGet("/health", () => TypedResults.Ok(new HealthView("healthy")))
            .AllowAnonymous()
            .WithName("Health")
            .WithTags("health")
            .WithSummary("Liveness: 200 while the host runs. Needs no token.");
        DashboardEndpoints.Map(app);
        app.MapOpenApi();

        var api = app.MapGroup("/api");
        SweepEndpoints.Map(api);
        TrialEndpoints.Map(api);
        WorkerEndpoints.Map(api);
        return app;
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private sealed class KestrelLimits(IOptions<GridApiOptions> options) : IConfigureOptions<KestrelServerOptions>
    {
        public void Configure(KestrelServerOptions kestrel) =>
            kestrel.Limits.MaxRequestBodySize = options.Value.MaxRequestBodyBytes;
    }
}

/// <summary>The body of <c>GET /health</c>.</summary>
public sealed record HealthView(string Status);
