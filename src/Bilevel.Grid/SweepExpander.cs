using System.Buffers;
using System.Text;
using System.Text.Json;
using Bilevel.Contracts;
using Bilevel.Grid.Internal;

namespace Bilevel.Grid;

/// <summary>
/// Expands a sweep into its trials: every point of the grid (the Cartesian product of the grid parameters, in name
/// order) × <see cref="SearchSpace.Samples"/> random draws of the other parameters × every seed, numbered from 1 in
/// that order. Random draws are a pure function of (search seed, parameter name, sample index): the same spec
/// always gives the same trials, and every grid point sees the same random samples, so grid values are compared
/// on equal terms.
/// </summary>
public static class SweepExpander
{
    public static IReadOnlyList<TrialPlan> Expand(SweepSpec spec, int maxTrials)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var grid = spec.Search.Parameters.Where(p => p.Value is GridParameter)
            .OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => (Name: p.Key, Values: ((GridParameter)p.Value).Values))
            .ToArray();
        var random = spec.Search.Parameters.Where(p => p.Value is not GridParameter)
            .OrderBy(p => p.Key, StringComparer.Ordinal)
            .ToArray();
        var gridPoints = grid.Aggregate(1L, (n, p) => n * p.Values.Count);
        var total = gridPoints * spec.Search.Samples * spec.Seeds.Count;
        if (total > maxTrials)
            throw new ArgumentException($"The sweep expands to {total} trials; at most {maxTrials} are allowed.", nameof(spec));

        var trials = new List<TrialPlan>((int)total);
        var indices = new int[grid.Length];
        for (var point = 0L; point < gridPoints; point++)
        {
            for (var sample = 0; sample < spec.Search.Samples; sample++)
            {
                var json = WriteParams(grid, indices, random, spec.Search.Seed, sample);
                foreach (var seed in spec.Seeds)
                    trials.Add(new TrialPlan(trials.Count + 1, json, seed));
            }
            Advance(indices, grid);
        }
        return trials;
    }

    // An odometer over the grid: the last parameter (by name) turns fastest.
    private static void Advance(int[] indices, (string Name, IReadOnlyList<JsonElement> Values)[] grid)
    {
        for (var i = indices.Length - 1; i >= 0; i--)
        {
            if (++indices[i] < grid[i].Values.Count)
                return;
            indices[i] = 0;
        }
    }

    private static string WriteParams(
        (string Name, IReadOnlyList<JsonElement> Values)[] grid,
        int[] indices,
        KeyValuePair<string, SearchParameter>[] random,
        long searchSeed,
        int sample)
    {
        var named = new SortedDictionary<string, Action<Utf8JsonWriter>>(StringComparer.Ordinal);
        for (var i = 0; i < grid.Length; i++)
        {
            var value = grid[i].Values[indices[i]];
            named[grid[i].Name] = value.WriteTo;
        }
        foreach (var (name, parameter) in random)
        {
            var u = SplitMix64.ToUnit(SplitMix64.Combine(SplitMix64.Combine((ulong)searchSeed, SplitMix64.Hash(name)), (ulong)sample));
            named[name] = Draw(parameter, u);
        }
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (name, write) in named)
            {
                writer.WritePropertyName(name);
                write(writer);
            }
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static Action<Utf8JsonWriter> Draw(SearchParameter parameter, double u) => parameter switch
    {
        ChoiceParameter c => c.Values[Math.Min((int)(u * c.Values.Count), c.Values.Count - 1)].WriteTo,
        UniformParameter p => w => w.WriteNumberValue(Math.Min(p.Low + u * (p.High - p.Low), Math.BitDecrement(p.High))),
        LogUniformParameter p => w => w.WriteNumberValue(Math.Min(
            Math.Exp(Math.Log(p.Low) + u * (Math.Log(p.High) - Math.Log(p.Low))), Math.BitDecrement(p.High))),
        _ => throw new ArgumentOutOfRangeException(nameof(parameter), parameter, "Grid parameters are not drawn."),
    };
}
