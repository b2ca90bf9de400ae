using System.Text.Json;

namespace Bilevel.Contracts;

/// <summary>
/// A hypergradient estimator by name (see <see cref="EstimatorNames"/>) and its options, a JSON object the estimator
/// interprets (e.g. <c>{"directions": 8}</c> for fg2u).
/// </summary>
public sealed record EstimatorSpec(string Name, JsonElement Options);
