using System.Text.Json;

namespace Bilevel.Contracts;

/// <summary>
/// The bilevel problem family a trial builds (<c>hypercleaning</c>, <c>condensation</c>, <c>quadratic</c>, …) and
/// its configuration, a JSON object the task itself interprets; the spec reader only bounds its size and depth.
/// </summary>
public sealed record TaskSpec(string Kind, JsonElement Config);
