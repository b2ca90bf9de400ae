using System.Text.Json;
using System.Text.Json.Nodes;

namespace Bilevel.Api.Tests.Infrastructure;

/// <summary>One malformed spec: its text and the field an error must name (null: any field will do).</summary>
internal sealed record SpecMutation(string Description, string Text, string? ExpectedPath);

/// <summary>
/// Malformed specs made from <see cref="Specs.Full"/>: every field given values of the wrong JSON kinds, unknown
/// fields in every object, required fields removed, huge arrays, deep nesting, unknown estimators, out-of-range
/// numbers and the text cut short.
/// </summary>
internal static class SpecMutations
{
    private static readonly string[] FreeForm = ["$.task.config", "$.schedule.phase1.options", "$.schedule.phase2.options"];

    private static readonly JsonNode?[] Replacements =
        [JsonValue.Create("text"), JsonValue.Create(12345), JsonValue.Create(1.5), JsonValue.Create(true), null,
         new JsonArray(), new JsonArray(1, 2), new JsonObject(), new JsonObject { ["x"] = 1 }];

    public static IEnumerable<SpecMutation> All()
    {
        var root = JsonNode.Parse(Specs.Full)!;
        var nodes = Walk(root, "$").ToList();
        foreach (var (path, node) in nodes.Where(n => n.Path != "$" && !IsInsideFreeForm(n.Path)))
        {
            foreach (var replacement in Replacements.Where(r => IsWrongKind(path, node, r)))
                yield return Mutate($"{path} := {replacement?.ToJsonString() ?? "null"}", root, path, _ => replacement?.DeepClone(), path);
        }
        foreach (var (path, _) in nodes.Where(n => n.Node is JsonObject && !IsInsideFreeForm(n.Path) && !FreeForm.Contains(n.Path)))
        {
            var field = path == "$" ? "$.unexpectedField" : path + ".unexpectedField";
            yield return Mutate($"unknown field in {path}", root, path, n => { n!.AsObject()["unexpectedField"] = 1; return n; }, field);
        }
        foreach (var required in new[] { "$.name", "$.task", "$.task.kind", "$.outerSteps", "$.schedule.phase1", "$.schedule.switch", "$.schedule.phase1.name", "$.search.parameters.lr.values", "$.device.kind" })
            yield return Mutate($"{required} removed", root, required, _ => Removed, required);
        foreach (var (path, size) in new[] { ("$.seeds", 5000), ("$.search.parameters.lr.values", 1001), ("$.task.config.hidden", 20_000) })
            yield return Mutate($"{path} with {size} items", root, path, _ => new JsonArray(Enumerable.Range(0, size).Select(i => (JsonNode?)i).ToArray()), path);
        foreach (var depth in new[] { 17, 100, 5000 })
            yield return new SpecMutation($"config nested {depth} deep", Specs.Full.Replace("\"noise\": 0.5", $"\"noise\": {new string('[', depth)}{new string(']', depth)}", StringComparison.Ordinal), null);
        foreach (var name in new[] { "", "RGU", "fg2u ", "sgd", "adam", "fg2u_zo", "kfac2", new string('e', 5000) })
        {
            yield return Mutate($"phase I estimator '{name[..Math.Min(name.Length, 10)]}'", root, "$.schedule.phase1.name", _ => name, "$.schedule.phase1.name");
            yield return Mutate($"phase II estimator '{name[..Math.Min(name.Length, 10)]}'", root, "$.schedule.phase2.name", _ => name, "$.schedule.phase2.name");
        }
        foreach (var (path, value) in new (string, JsonNode)[]
                 {
                     ("$.outerSteps", 0), ("$.outerSteps", -1), ("$.outerSteps", 1e12), ("$.checkpointInterval", 0), ("$.maxAttempts", 0),
                     ("$.maxAttempts", 101), ("$.priority", 1001), ("$.priority", -5000), ("$.device.slots", 0), ("$.device.slots", 65),
                     ("$.schedule.switch.threshold", 2), ("$.schedule.switch.every", 0), ("$.search.samples", 0),
                     ("$.search.samples", 1_000_000), ("$.seeds[1]", 0.5), ("$.search.parameters.momentum.high", 0.1),
                     ("$.name", new string('n', 201)), ("$.task.kind", "hyper cleaning"), ("$.device.kind", "tpu"),
                 })
        {
            yield return Mutate($"{path} out of range", root, path, _ => value.DeepClone(), path);
        }
        for (var cut = 0; cut < Specs.Full.Length - 1; cut += Specs.Full.Length / 40)
            yield return new SpecMutation($"cut at {cut}", Specs.Full[..cut], null);
        yield return new SpecMutation("not an object", "[1, 2, 3]", "$");
        yield return new SpecMutation("a bare string", "\"spec\"", "$");
        yield return new SpecMutation("binary noise", "\u0001\u0002garbage{{{", null);
    }

    private static readonly JsonNode Removed = JsonValue.Create("__removed__");

    private static bool IsInsideFreeForm(string path) =>
        FreeForm.Any(f => path.StartsWith(f + ".", StringComparison.Ordinal) || path.StartsWith(f + "[", StringComparison.Ordinal));

    private static bool IsWrongKind(string path, JsonNode? original, JsonNode? replacement)
    {
        var kind = KindOf(replacement);
        if (path.Contains(".values[", StringComparison.Ordinal))
            return kind is JsonValueKind.Null or JsonValueKind.Array or JsonValueKind.Object;
        var was = KindOf(original);
        // Integers and reals are both numbers; only a real where an integer is wanted is a wrong kind among them.
        if (kind == JsonValueKind.Number && was == JsonValueKind.Number)
            return replacement!.ToJsonString().Contains('.', StringComparison.Ordinal) && !original!.ToJsonString().Contains('.', StringComparison.Ordinal)
                && !original.ToJsonString().Contains('e', StringComparison.Ordinal);
        return kind != was;
    }

    private static JsonValueKind KindOf(JsonNode? node) => node switch
    {
        null => JsonValueKind.Null,
        JsonObject => JsonValueKind.Object,
        JsonArray => JsonValueKind.Array,
        _ => node.GetValueKind() is JsonValueKind.True or JsonValueKind.False ? JsonValueKind.True : node.GetValueKind(),
    };

    private static IEnumerable<(string Path, JsonNode? Node)> Walk(JsonNode? node, string path)
    {
        yield return (path, node);
        switch (node)
        {
            case JsonObject obj:
                foreach (var (name, child) in obj)
                {
                    foreach (var item in Walk(child, $"{path}.{name}"))
                        yield return item;
                }
                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    foreach (var item in Walk(array[i], $"{path}[{i}]"))
                        yield return item;
                }
                break;
        }
    }

    private static SpecMutation Mutate(string description, JsonNode root, string path, Func<JsonNode?, JsonNode?> change, string? expected)
    {
        var copy = root.DeepClone();
        if (path == "$")
            return new SpecMutation(description, change(copy)!.ToJsonString(), expected);
        var (parent, key, index) = Locate(copy, path);
        var current = key is not null ? parent.AsObject()[key] : parent.AsArray()[index];
        var replacement = change(current?.DeepClone());
        if (ReferenceEquals(replacement, Removed) || replacement?.ToJsonString() == "\"__removed__\"")
        {
            parent.AsObject().Remove(key!);
        }
        else if (key is not null)
        {
            parent.AsObject()[key] = replacement;
        }
        else
        {
            parent.AsArray()[index] = replacement;
        }
        return new SpecMutation(description, copy.ToJsonString(), expected);
    }

    private static (JsonNode Parent, string? Key, int Index) Locate(JsonNode root, string path)
    {
        var steps = System.Text.RegularExpressions.Regex.Matches(path[1..], @"\.([^.\[]+)|\[(\d+)\]").Select(m => m.Groups[1].Success ? (object)m.Groups[1].Value : int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        var node = root;
        for (var i = 0; i < steps.Count - 1; i++)
            node = steps[i] is string name ? node[name]! : node[(int)steps[i]]!;
        return steps[^1] is string last ? (node, last, -1) : (node, null, (int)steps[^1]);
    }
}
