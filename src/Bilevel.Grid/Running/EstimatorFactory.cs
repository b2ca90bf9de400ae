using System.Text.Json;
using Bilevel.Contracts;
using Bilevel.Grid.Running.Internal;
using Bilevel.Hypergradients;
using Bilevel.Hypergradients.Estimators;
using ContractSwitch = Bilevel.Contracts.SwitchRule;
using EngineSwitch = Bilevel.Hypergradients.SwitchRule;
using TwoPhaseSchedule = Bilevel.Hypergradients.TwoPhaseSchedule;

namespace Bilevel.Grid.Running;

/// <summary>
/// The estimator registry of this build: maps an <see cref="EstimatorSpec"/> (name and options) to an
/// <see cref="IHypergradientEstimator"/>, and a two-phase schedule to a <see cref="Hypergradients.TwoPhaseSchedule"/>.
/// Options are read strictly: a wrong type, an out-of-range value or an unknown option is a
/// <see cref="TrialConfigException"/> naming the field (<c>estimator.options.directions</c>).
/// </summary>
/// <remarks>
/// Options by estimator (all optional unless marked required):
/// <list type="table">
/// <item><term>rgu</term><description><c>checkpointing</c> (bool, false): keep √T states and recompute.</description></item>
/// <item><term>trgu</term><description><c>k</c> (required, int ≥ 0): final steps differentiated; <c>checkpointing</c>.</description></item>
/// <item><term>fgu</term><description><c>chunkSize</c> (int ≥ 1), <c>threads</c> (int ≥ 1, 1).</description></item>
/// <item><term>fg2u</term><description><c>directions</c> (b, int ≥ 1, 1), <c>distribution</c> (rademacher | gaussian | sphere | coordinate), <c>chunkSize</c>, <c>threads</c>.</description></item>
/// <item><term>fg2u-zo</term><description><c>directions</c> (1), <c>mu</c> (&gt; 0, 1e-3), <c>central</c> (bool, false), <c>distribution</c>.</description></item>
/// <item><term>hf</term><description><c>alpha</c> (&gt; 0, 1).</description></item>
/// <item><term>neumann</term><description><c>k</c> (int ≥ 0, 10), <c>alpha</c> (&gt; 0, 0.1).</description></item>
/// <item><term>cg</term><description><c>k</c> (int ≥ 0, 10), <c>damping</c> (λ ≥ 0, 0), <c>normalEquations</c> (bool, false).</description></item>
/// <item><term>kfac</term><description><c>damping</c> (λ &gt; 0, 1e-3), <c>refreshInterval</c> (U ≥ 1, 1), <c>emaDecay</c> ([0, 1), 0), <c>fisher</c> (exact | monte-carlo), <c>samples</c> (≥ 1, 1), <c>dampingMode</c> (pi | even | exact, pi). Needs a task whose problem implements <see cref="IKfacProblem{T}"/>.</description></item>
/// </list>
/// </remarks>
public static class EstimatorFactory
{
    private const int MaxDirections = 1 << 16;
    private const int MaxThreads = 1024;

    private static readonly string[] Distributions = ["rademacher", "gaussian", "sphere", "coordinate"];

    /// <summary>The estimator names this build runs: the list to give <see cref="SweepSpecReader"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = EstimatorNames.All;

    /// <summary>The estimator of <paramref name="spec"/>; <paramref name="path"/> is its spec path, for errors.</summary>
    public static IHypergradientEstimator Create(EstimatorSpec spec, string path = "estimator")
    {
        ArgumentNullException.ThrowIfNull(spec);
        return Create(spec.Name, spec.Options, path, ParameterOrigins.None);
    }

    /// <summary>The two-phase schedule of <paramref name="schedule"/>; <paramref name="path"/> is its spec path.</summary>
    public static TwoPhaseSchedule Create(Contracts.TwoPhaseSchedule schedule, string path = "schedule")
    {
        ArgumentNullException.ThrowIfNull(schedule);
        return CreateSchedule(schedule, path, ParameterOrigins.None);
    }

    /// <summary>The engine's switch rule for a spec's rule. A fixed step s ("after outer step s") is phase II from the 0-based outer step s on.</summary>
    public static EngineSwitch CreateSwitchRule(ContractSwitch rule) => rule switch
    {
        FixedStepSwitch f => new SwitchAtStep(f.Step),
        PlateauSwitch p => new SwitchOnPlateau(p.Window, p.MinImprovement),
        CosineSwitch c => new SwitchOnCosine(c.Threshold, c.Every, c.Directions),
        null => throw new ArgumentNullException(nameof(rule)),
        _ => throw new ArgumentException($"Unknown switch rule {rule.GetType().Name}.", nameof(rule)),
    };

    /// <summary>The single estimator or the two-phase schedule of a resolved trial.</summary>
    public static IHypergradientEstimator Create(TrialConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (configuration.Schedule is { } schedule)
            return CreateSchedule(schedule, "schedule", configuration.Origins);
        var estimator = configuration.Estimator ?? throw new TrialConfigException("estimator", "is required when the spec has no schedule.");
        return Create(estimator.Name, estimator.Options, "estimator", configuration.Origins);
    }

    internal static TwoPhaseSchedule CreateSchedule(Contracts.TwoPhaseSchedule schedule, string path, ParameterOrigins origins)
    {
        var phaseOne = Create(schedule.Phase1.Name, schedule.Phase1.Options, $"{path}.phase1", origins);
        var phaseTwo = Create(schedule.Phase2.Name, schedule.Phase2.Options, $"{path}.phase2", origins);
        try
        {
            return new TwoPhaseSchedule(phaseOne, phaseTwo, CreateSwitchRule(schedule.Switch));
        }
        catch (ArgumentException e) when (e is not TrialConfigException)
        {
            throw origins.Error($"{path}.switch", $"is invalid: {e.Message}");
        }
    }

    internal static IHypergradientEstimator Create(string name, JsonElement options, string path, ParameterOrigins origins)
    {
        var reader = new OptionReader(options, $"{path}.options", origins);
        try
        {
            return name switch
            {
                EstimatorNames.Rgu => Finish(reader, new ReverseUnrolling(checkpointing: reader.Bool("checkpointing", false)), "checkpointing"),
                EstimatorNames.Trgu => Finish(reader, new ReverseUnrolling(
                    truncation: reader.RequiredInt("k", 0, int.MaxValue, "the number of final inner steps TRGU differentiates through"),
                    checkpointing: reader.Bool("checkpointing", false)), "k", "checkpointing"),
                EstimatorNames.Fgu => Finish(reader, new ForwardUnrolling(
                    chunkSize: reader.OptionalInt("chunkSize", 1, MaxDirections),
                    threads: reader.Int("threads", 1, 1, MaxThreads)), "chunkSize", "threads"),
                EstimatorNames.Fg2u => Finish(reader, new ForwardGradientUnrolling(
                    directions: reader.Int("directions", 1, 1, MaxDirections),
                    distribution: Distribution(reader),
                    chunkSize: reader.OptionalInt("chunkSize", 1, MaxDirections),
                    threads: reader.Int("threads", 1, 1, MaxThreads)), "directions", "distribution", "chunkSize", "threads"),
                EstimatorNames.Fg2uZo => Finish(reader, new ZerothOrder(
                    directions: reader.Int("directions", 1, 1, MaxDirections),
                    mu: reader.Number("mu", 1e-3, 0, double.MaxValue, lowExclusive: true),
                    central: reader.Bool("central", false),
                    distribution: Distribution(reader)), "directions", "mu", "central", "distribution"),
                EstimatorNames.HessianFree => Finish(reader, new HessianFree(
                    alpha: reader.Number("alpha", 1, 0, double.MaxValue, lowExclusive: true)), "alpha"),
                EstimatorNames.Neumann => Finish(reader, new Neumann(
                    terms: reader.Int("k", 10, 0, 1_000_000),
                    alpha: reader.Number("alpha", 0.1, 0, double.MaxValue, lowExclusive: true)), "k", "alpha"),
                EstimatorNames.ConjugateGradient => Finish(reader, new ConjugateGradient(
                    iterations: reader.Int("k", 10, 0, 1_000_000),
                    damping: reader.Number("damping", 0, 0, double.MaxValue),
                    normalEquations: reader.Bool("normalEquations", false)), "k", "damping", "normalEquations"),
                EstimatorNames.Kfac => Finish(reader, new Kfac(
                    damping: reader.Number("damping", 1e-3, 0, double.MaxValue, lowExclusive: true),
                    refreshInterval: reader.Int("refreshInterval", 1, 1, 1_000_000),
                    emaDecay: reader.Number("emaDecay", 0, 0, 1, highExclusive: true),
                    fisher: reader.Choice("fisher", "exact", ["exact", "monte-carlo"]) == "exact" ? KfacFisher.Exact : KfacFisher.MonteCarlo,
                    samples: reader.Int("samples", 1, 1, 10_000),
                    dampingMode: reader.Choice("dampingMode", "pi", ["pi", "even", "exact"]) switch
                    {
                        "even" => KfacDamping.Even,
                        "exact" => KfacDamping.Exact,
                        _ => KfacDamping.PiHeuristic,
                    }),
                    "damping", "refreshInterval", "emaDecay", "fisher", "samples", "dampingMode"),
                _ => throw origins.Error($"{path}.name", $"is \"{name}\", which is not an estimator of this build; known: {string.Join(", ", Names)}."),
            };
        }
        catch (ArgumentException e) when (e is not TrialConfigException)
        {
            // The estimators check their own invariants too; whatever they refuse is still this spec's options.
            throw origins.Error($"{path}.options", $"is refused by {name}: {e.Message}");
        }
    }

    /// <summary>True when <paramref name="estimator"/> (or a phase of it) is KFAC, which needs an <see cref="IKfacProblem{T}"/>.</summary>
    internal static bool NeedsKfacProblem(IHypergradientEstimator estimator) => estimator switch
    {
        Kfac => true,
        TwoPhaseSchedule s => NeedsKfacProblem(s.PhaseOne) || NeedsKfacProblem(s.PhaseTwo),
        _ => false,
    };

    private static DirectionDistribution Distribution(OptionReader reader) => reader.Choice("distribution", "rademacher", Distributions) switch
    {
        "gaussian" => DirectionDistribution.Gaussian,
        "sphere" => DirectionDistribution.Sphere,
        "coordinate" => DirectionDistribution.Coordinate,
        _ => DirectionDistribution.Rademacher,
    };

    private static IHypergradientEstimator Finish(OptionReader reader, IHypergradientEstimator estimator, params string[] known)
    {
        reader.RejectUnknown(known);
        return estimator;
    }
}
