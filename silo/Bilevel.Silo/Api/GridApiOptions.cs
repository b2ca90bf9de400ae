using Bilevel.Contracts;

namespace Bilevel.Silo.Api;

/// <summary>Settings of the HTTP API, read from the <c>Silo:Api</c> section by <see cref="GridApi.AddGridApi"/>.</summary>
public sealed class GridApiOptions
{
    /// <summary>The configuration section these options are read from.</summary>
    public const string SectionName = "Silo:Api";

    /// <summary>The environment variable that supplies the token when <c>Silo:Api:Token</c> is not set.</summary>
    public const string TokenVariable = "BILEVEL_API_TOKEN";

    /// <summary>
    /// The bearer token every request but <c>/health</c> and the dashboard's static files must present; no
    /// authentication when null or empty. From <c>Silo:Api:Token</c>, else <c>BILEVEL_API_TOKEN</c>. Default null.
    /// </summary>
    public string? Token { get; set; }

    /// <summary>
    /// The largest request body Kestrel reads, in bytes; past it the request fails with 413 and the connection
    /// closes. Specs are held to the smaller <see cref="SpecLimits.MaxDocumentBytes"/> by the endpoint, which reads
    /// and drops the excess up to this limit so that an oversize spec gets a clean 413 naming its size. Default
    /// twice <see cref="SpecLimits.MaxDocumentBytes"/> of <see cref="SpecLimits.Default"/> (2 MiB).
    /// </summary>
    public long MaxRequestBodyBytes { get; set; } = 2L * SpecLimits.Default.MaxDocumentBytes;

    /// <summary>The bounds a submitted sweep spec is checked against. Default <see cref="SpecLimits.Default"/>.</summary>
    public SpecLimits SpecLimits { get; set; } = SpecLimits.Default;

    /// <summary>
    /// The estimator names a submitted spec may use: the registry of the build that runs the trials. Default
    /// <see cref="EstimatorNames.All"/>.
    /// </summary>
    public IReadOnlyList<string> KnownEstimators { get; set; } = EstimatorNames.All;
}
