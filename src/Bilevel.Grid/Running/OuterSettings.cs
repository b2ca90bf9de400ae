using System.Text.Json;
using Bilevel.Contracts;
using Bilevel.Grid.Running.Internal;
using Bilevel.Hypergradients;
using Bilevel.Hypergradients.Estimators;
using Bilevel.Nn.Optimizers;

namespace Bilevel.Grid.Running;

/// <summary>The outer optimizer that moves φ with the hypergradient.</summary>
public enum OuterOptimizerKind
{
    Sgd,
    Momentum,
    Adam,
}

/// <summary>The floating-point type a trial computes in (φ, θ and every tensor).</summary>
public enum TrialPrecision
{
    Float64 = 8,
    Float32 = 4,
}

/// <summary>Compare the estimate with <see cref="Reference"/> (rgu or fgu) every <see cref="Every"/> outer steps.</summary>
public sealed record DiagnosticsSettings(int Every, string Reference);

/// <summary>
/// How a trial runs its outer loop: the outer optimizer, the precision and optional diagnostics. Read from the
/// reserved member <c>outer</c> of the task config (which the runner removes before the task sees its config), and
/// searched with parameters named <c>outer.&lt;field&gt;</c>. Every field is optional:
/// <code>
/// "outer": { "optimizer": "sgd" | "momentum" | "adam",   default "sgd"
///            "learningRate": &gt; 0,                          default 0.1
///            "momentum": [0, 1),                           default 0.9 (momentum)
///            "beta1": [0, 1), "beta2": [0, 1), "epsilon": &gt; 0   defaults 0.9, 0.999, 1e-8 (adam)
///            "projection": { "low": x, "high": y },        default none (clip φ to [low, high] after each step)
///            "precision": "float64" | "float32",           default "float64"
///            "diagnostics": { "every": D ≥ 1, "reference": "rgu" | "fgu" } }   default none
/// </code>
/// </summary>
public sealed record OuterSettings
{
    public const string ReservedMember = "outer";

    private static readonly string[] Known = ["optimizer", "learningRate", "momentum", "beta1", "beta2", "epsilon", "projection", "precision", "diagnostics"];

    public static OuterSettings Default { get; } = new();

    /// <summary>Default <see cref="OuterOptimizerKind.Sgd"/>.</summary>
    public OuterOptimizerKind Optimizer { get; init; } = OuterOptimizerKind.Sgd;

    /// <summary>Default 0.1.</summary>
    public double LearningRate { get; init; } = 0.1;

    /// <summary>μ of <see cref="OuterOptimizerKind.Momentum"/>. Default 0.9.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>Default 0.9.</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>Default 0.999.</summary>
    public double Beta2 { get; init; } = 0.999;

    /// <summary>Default 1e-8.</summary>
    public double Epsilon { get; init; } = 1e-8;

    /// <summary>Default none.</summary>
    public Projection? Projection { get; init; }

    /// <summary>Default <see cref="TrialPrecision.Float64"/>.</summary>
    public TrialPrecision Precision { get; init; } = TrialPrecision.Float64;

    /// <summary>Default none.</summary>
    public DiagnosticsSettings? Diagnostics { get; init; }

    public OuterOptimizer CreateOptimizer() => Optimizer switch
    {
        OuterOptimizerKind.Sgd => new OuterSgd(LearningRate, Projection),
        OuterOptimizerKind.Momentum => new OuterMomentum(LearningRate, Momentum, Projection),
        OuterOptimizerKind.Adam => new OuterAdam(LearningRate, Beta1, Beta2, Epsilon, Projection),
        _ => throw new InvalidOperationException($"Unknown outer optimizer {Optimizer}."),
    };

    /// <summary>The diagnostics of <see cref="Diagnostics"/>, or null.</summary>
    public Hypergradients.Diagnostics? CreateDiagnostics() => Diagnostics is { } d
        ? new Hypergradients.Diagnostics(d.Reference == EstimatorNames.Fgu ? new ForwardUnrolling() : new ReverseUnrolling(), d.Every)
        : null;

    internal static OuterSettings Read(JsonElement value, string path, ParameterOrigins origins)
    {
        var reader = new OptionReader(value, path, origins);
        var optimizer = reader.Choice("optimizer", "sgd", ["sgd", "momentum", "adam"]) switch
        {
            "momentum" => OuterOptimizerKind.Momentum,
            "adam" => OuterOptimizerKind.Adam,
            _ => OuterOptimizerKind.Sgd,
        };
        var settings = new OuterSettings
        {
            Optimizer = optimizer,
            LearningRate = reader.Number("learningRate", 0.1, 0, double.MaxValue, lowExclusive: true),
            Momentum = reader.Number("momentum", 0.9, 0, 1, highExclusive: true),
            Beta1 = reader.Number("beta1", 0.9, 0, 1, highExclusive: true),
            Beta2 = reader.Number("beta2", 0.999, 0, 1, highExclusive: true),
            Epsilon = reader.Number("epsilon", 1e-8, 0, double.MaxValue, lowExclusive: true),
            Projection = ReadProjection(reader, origins),
            Precision = reader.Choice("precision", "float64", ["float64", "float32"]) == "float32" ? TrialPrecision.Float32 : TrialPrecision.Float64,
            Diagnostics = ReadDiagnostics(reader, origins),
        };
        reader.RejectUnknown(Known);
        return settings;
    }

    private static Projection? ReadProjection(OptionReader outer, ParameterOrigins origins)
    {
        if (outer.Object("projection") is not { } value)
            return null;
        var reader = new OptionReader(value, outer.PathOf("projection"), origins);
        if (!reader.Has("low") || !reader.Has("high"))
            throw origins.Error(reader.Path, "needs both \"low\" and \"high\".");
        var low = reader.Number("low", 0, -double.MaxValue, double.MaxValue);
        var high = reader.Number("high", 0, -double.MaxValue, double.MaxValue);
        reader.RejectUnknown(["low", "high"]);
        if (!(low < high))
            throw origins.Error(reader.PathOf("high"), $"must be greater than low ({low}), got {high}.");
        return new Projection(low, high);
    }

    private static DiagnosticsSettings? ReadDiagnostics(OptionReader outer, ParameterOrigins origins)
    {
        if (outer.Object("diagnostics") is not { } value)
            return null;
        var reader = new OptionReader(value, outer.PathOf("diagnostics"), origins);
        var every = reader.RequiredInt("every", 1, 1_000_000, "outer steps between diagnostics");
        var reference = reader.Choice("reference", EstimatorNames.Rgu, [EstimatorNames.Rgu, EstimatorNames.Fgu]);
        reader.RejectUnknown(["every", "reference"]);
        return new DiagnosticsSettings(every, reference);
    }
}
