using System.Text.Json;
using System.Text.Json.Serialization;

namespace Bilevel.Contracts;

/// <summary>
/// How one searched parameter takes its values, written with a <c>kind</c> discriminator. Grid parameters form a
/// Cartesian product; the others are drawn at random, once per sample.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(GridParameter), "grid")]
[JsonDerivedType(typeof(ChoiceParameter), "choice")]
[JsonDerivedType(typeof(UniformParameter), "uniform")]
[JsonDerivedType(typeof(LogUniformParameter), "log-uniform")]
public abstract record SearchParameter;

/// <summary>Every one of <see cref="Values"/> (JSON scalars), crossed with the other grid parameters.</summary>
public sealed record GridParameter(IReadOnlyList<JsonElement> Values) : SearchParameter;

/// <summary>One of <see cref="Values"/> (JSON scalars), drawn uniformly per sample.</summary>
public sealed record ChoiceParameter(IReadOnlyList<JsonElement> Values) : SearchParameter;

/// <summary>A real number drawn uniformly from [<see cref="Low"/>, <see cref="High"/>).</summary>
public sealed record UniformParameter(double Low, double High) : SearchParameter;

/// <summary>A positive real number whose logarithm is uniform on [log <see cref="Low"/>, log <see cref="High"/>).</summary>
public sealed record LogUniformParameter(double Low, double High) : SearchParameter;
