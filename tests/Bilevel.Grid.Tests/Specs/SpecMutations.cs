using System.Text.Json;
using System.Text.Json.Nodes;

namespace Bilevel.Grid.Tests.Specs;

/// <summary>One malformed spec: its JSON text and the path an error must name (null: any error will do).</summary>
internal sealed record SpecMutation(string Description, string Json, string? ExpectedPath);

/// <summary>
/// Generates malformed specs from the valid <see cref="SpecSamples.Json"/> by mutation: every field of the schema
/// replaced by values of the wrong JSON kinds, unknown fields in every object, required fields removed, arrays
/// blown up, nesting deepened, estimator names misspelt, numbers out of range, and the text cut short.
/// </summary>
internal static class SpecMutations
{
    // Free-form objects the reader only bounds; their insides may hold anything.
    private static readonly string[] FreeForm = ["$.task.config", "$.schedule.phase1.options", "$.schedule.phase2.options"];

    private static readonly JsonNode?[] Replacements =
        [JsonValue.Create("text"), JsonValue.Create(12345), JsonValue.Create(1.5), JsonValue.Create(true), null,
         new JsonArray(), new JsonArray(1, 2), new JsonObject(), new JsonObject { ["x"] = 1 }];

    public static IEnumerable<SpecMutation> All()
    {
        var root = JsonNode.Parse(SpecSamples.Json)!;
        var nodes = Walk(root, "$").ToList();
        foreach (var (path, node) in nodes.Where(n => n.Path != "$" && !IsInsideFreeForm(n.Path)))
        {
            foreach (var replacement in Replacements.Where(r => IsWrongKindFor(path, node, r)))
                yield return Mutate($"{path} := {Text(replacement)}", root, path, _ => replacement?.DeepClone(), path);
        }
        foreach (var (path, _) in nodes.Where(n => n.Node is JsonObject && !IsInsideFreeForm(n.Path) && !FreeForm.Contains(n.Path)))
        {
            yield return Mutate($"unknown field in {path}", root, path, n => { n!.AsObject()["unexpectedField"] = 1; return n; }, path == "$" ? "$.unexpectedField" : path + ".unexpectedField");
            yield return Mutate($"duplicate-looking field in {path}", root, path, n => { n!.AsObject()["Name"] = "x"; return n; }, path == "$" ? "$.Name" : path + ".Name");
        }
        foreach (var required in new[]
                 {
                     "$.name", "$.task", "$.task.kind", "$.outerSteps", "$.schedule.phase1", "$.schedule.phase2", "$.schedule.switch",
                     "$.schedule.phase1.name", "$.schedule.switch.rule", "$.schedule.switch.threshold", "$.schedule.switch.every",
                     "$.schedule.switch.directions", "$.search.parameters.lr.kind", "$.search.parameters.lr.values",
                     "$.search.parameters.momentum.low", "$.search.parameters.weightDecay.high", "$.device.kind",
                 })
        {
            yield return Remove(root, required);
        }
        foreach (var (path, size) in new[] { ("$.seeds", 5000), ("$.search.parameters.lr.values", 1001), ("$.task.config.hidden", 20_000) })
            yield return Mutate($"{path} with {size} items", root, path, _ => new JsonArray(Enumerable.Range(0, size).Select(i => (JsonNode?)i).ToArray()), path);
        foreach (var depth in new[] { 17, 100, 5000 })
            yield return new SpecMutation($"config nested {depth} deep", SpecSamples.Json.Replace("\"noise\": 0.5", $"\"noise\": {new string('[', depth)}{new string(']', depth)}", StringComparison.Ordinal), null);
        foreach (var name in new[] { "", "RGU", "fg2u ", "sgd", "fg2u_zo", "kfac2", new string('e', 5000) })
        {
            yield return Mutate($"estimator '{name[..Math.Min(name.Length, 10)]}'", root, "$.schedule.phase1.name", _ => name, "$.schedule.phase1.name");
            yield return Mutate($"estimator '{name[..Math.Min(name.Length, 10)]}' in phase II", root, "$.schedule.phase2.name", _ => name, "$.schedule.phase2.name");
        }
        foreach (var (path, value) in new (string, JsonNode)[]
                 {
                     ("$.outerSteps", 0), ("$.outerSteps", -1), ("$.outerSteps", 1e12), ("$.checkpointInterval", 0), ("$.maxAttempts", 0),
                     ("$.maxAttempts", 101), ("$.priority", 1001), ("$.priority", -5000), ("$.device.slots", 0), ("$.device.slots", 65),
                     ("$.schedule.switch.threshold", 2), ("$.schedule.switch.every", 0), ("$.search.samples", 0),
                     ("$.search.samples", 1_000_000), ("$.search.seed", -1), ("$.seeds[1]", 0.5), ("$.search.parameters.momentum.high", 0.1),
                     ("$.name", new string('n', 201)), ("$.task.kind", "hyper cleaning"),
                 })
        {
            yield return Mutate($"{path} := {value.ToJsonString()[..Math.Min(20, value.ToJsonString().Length)]}", root, path, _ => value.DeepClone(), path);
        }
        for (var cut = 0; cut < SpecSamples.Json.Length - 1; cut += SpecSamples.Json.Length / 40)
            yield return new SpecMutation($"cut at {cut}", SpecSamples.Json[..cut], null);
    }

    private static bool IsInsideFreeForm(string path) => FreeForm.Any(f => path.StartsWith(f + ".", StringComparison.Ordinal) || path.StartsWith(f + "[", StringComparison.Ordinal));

    /// <summary>Whether <paramref name="replacement"/> is of a kind the field at <paramref name="path"/> never accepts.</summary>
    private static bool IsWrongKindFor(string path, JsonNode? original, JsonNode? replacement)
    {
        var kind = KindOf(replacement);
        if (path.Contains(".values[", StringComparison.Ordinal))
            return kind is JsonValueKind.Null or JsonValueKind.Array or JsonValueKind.Object;
        return kind != KindOf(original);
    }

    private static JsonValueKind KindOf(JsonNode? node) => node?.GetValueKind() switch
    {
        null => JsonValueKind.Null,
        JsonValueKind.False => JsonValueKind.True,
        var k => k.Value,
    };

    private static IEnumerable<(string Path, JsonNode? Node)> Walk(JsonNode? node, string path)
    {
        yield return (path, node);
        switch (node)
        {
            case JsonObject o:
                foreach (var (name, child) in o)
                {
                    foreach (var inner in Walk(child, $"{path}.{name}"))
                        yield return inner;
                }
                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    foreach (var inner in Walk(a[i], $"{path}[{i}]"))
                        yield return inner;
                }
                break;
        }
    }

    private static SpecMutation Mutate(string description, JsonNode root, string path, Func<JsonNode?, JsonNode?> change, string? expectedPath)
    {
        var copy = root.DeepClone();
        var (parent, key, index) = Locate(copy, path);
        if (parent is null)
            return new SpecMutation(description, change(copy)!.ToJsonString(), expectedPath);
        if (key is not null)
            parent.AsObject()[key] = change(parent[key]?.DeepClone());
        else
            parent.AsArray()[index] = change(parent[index]?.DeepClone());
        return new SpecMutation(description, copy.ToJsonString(), expectedPath);
    }

    private static SpecMutation Remove(JsonNode root, string path)
    {
        var copy = root.DeepClone();
        var (parent, key, _) = Locate(copy, path);
        parent!.AsObject().Remove(key!);
        return new SpecMutation($"{path} removed", copy.ToJsonString(), path);
    }

    private static (JsonNode? Parent, string? Key, int Index) Locate(JsonNode root, string path)
    {
        if (path == "$")
            return (null, null, 0);
        JsonNode? parent = null;
        var current = root;
        string? key = null;
        var index = 0;
        foreach (var segment in path[1..].Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            var bracket = segment.IndexOf('[', StringComparison.Ordinal);
            var name = bracket < 0 ? segment : segment[..bracket];
            parent = current;
            current = current![name];
            key = name;
            if (bracket >= 0)
            {
                index = int.Parse(segment[(bracket + 1)..^1], System.Globalization.CultureInfo.InvariantCulture);
                parent = current;
                current = current![index];
                key = null;
            }
        }
        return (parent, key, index);
    }

    private static string Text(JsonNode? node) => node?.ToJsonString() ?? "null";
}
