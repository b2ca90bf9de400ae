using System.Text.Json.Serialization;

namespace Bilevel.Contracts;

/// <summary>When a two-phase trial moves from phase I to phase II; written with a <c>rule</c> discriminator.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "rule")]
[JsonDerivedType(typeof(FixedStepSwitch), "fixed-step")]
[JsonDerivedType(typeof(PlateauSwitch), "plateau")]
[JsonDerivedType(typeof(CosineSwitch), "cosine")]
public abstract record SwitchRule;

/// <summary>Switch after outer step <see cref="Step"/> (1 ≤ step &lt; outerSteps).</summary>
public sealed record FixedStepSwitch(int Step) : SwitchRule;

/// <summary>
/// Switch when the outer loss improved by less than <see cref="MinImprovement"/> (relative) over the last
/// <see cref="Window"/> outer steps.
/// </summary>
public sealed record PlateauSwitch(int Window, double MinImprovement) : SwitchRule;

/// <summary>
/// Every <see cref="Every"/> outer steps, probe with an fg2u estimate of <see cref="Directions"/> directions; switch
/// when the cosine between the cheap estimate and the probe falls below <see cref="Threshold"/>.
/// </summary>
public sealed record CosineSwitch(double Threshold, int Every, int Directions) : SwitchRule;
