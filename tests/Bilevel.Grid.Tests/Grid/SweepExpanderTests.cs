using System.Text.Json;
using Bilevel.Contracts;
using Bilevel.Grid.Tests.Infrastructure;

namespace Bilevel.Grid.Tests.Grid;

public sealed class SweepExpanderTests
{
    [Fact]
    public void A_sweep_expands_to_grid_times_samples_times_seeds_numbered_in_order()
    {
        var spec = TestSpecs.Searched();

        var trials = SweepExpander.Expand(spec, 1000);

        Assert.Equal(2 * 3 * 2 * 2, trials.Count);
        Assert.Equal(Enumerable.Range(1, 24), trials.Select(t => t.Number));
        Assert.Equal(Enumerable.Repeat(new long[] { 1, 2 }, 12).SelectMany(s => s), trials.Select(t => t.Seed));
        var grid = trials.Select(t => Parse(t.ParamsJson)).Select(p => (p.GetProperty("depth").GetInt32(), p.GetProperty("lr").GetDouble())).Distinct().ToList();
        // Grid parameters in name order, the last turning fastest: depth outer, lr inner.
        Assert.Equal([(1, 0.1), (1, 0.01), (2, 0.1), (2, 0.01), (3, 0.1), (3, 0.01)], grid);
        Assert.All(trials.Select(t => Parse(t.ParamsJson)), p =>
        {
            Assert.Contains(p.GetProperty("optimizer").GetString(), new[] { "sgd", "adam" });
            Assert.InRange(p.GetProperty("weightDecay").GetDouble(), 1e-5, 1e-2);
        });
    }

    [Fact]
    public void Random_draws_are_a_function_of_the_search_seed_shared_by_every_grid_point()
    {
        var spec = TestSpecs.Searched() with { Seeds = [0] };
        var first = SweepExpander.Expand(spec, 1000);
        var again = SweepExpander.Expand(spec, 1000);
        var reseeded = SweepExpander.Expand(spec with { Search = spec.Search with { Seed = 8 } }, 1000);

        Assert.Equal(first.Select(t => t.ParamsJson), again.Select(t => t.ParamsJson));
        Assert.NotEqual(first.Select(t => t.ParamsJson), reseeded.Select(t => t.ParamsJson));
        var draws = first.Select(t => Parse(t.ParamsJson).GetProperty("weightDecay").GetDouble()).ToArray();
        // Two samples per grid point, the same two at every point: grid values are compared on equal terms.
        Assert.Equal(2, draws.Distinct().Count());
        Assert.Equal(Enumerable.Repeat(draws[..2], 6).SelectMany(d => d), draws);
    }

    [Fact]
    public void Uniform_and_log_uniform_draws_cover_their_ranges()
    {
        var spec = TestSpecs.Simple(1) with
        {
            Search = new SearchSpace(3, 2000, new Dictionary<string, SearchParameter>
            {
                ["u"] = new UniformParameter(-1, 1),
                ["l"] = new LogUniformParameter(1e-4, 1),
            }),
        };

        var values = SweepExpander.Expand(spec, 10_000).Select(t => Parse(t.ParamsJson)).ToList();
        var u = values.Select(v => v.GetProperty("u").GetDouble()).ToArray();
        var logL = values.Select(v => Math.Log10(v.GetProperty("l").GetDouble())).ToArray();

        Assert.All(u, x => Assert.InRange(x, -1, 1));
        Assert.All(logL, x => Assert.InRange(x, -4, 0));
        // 2,000 draws: each quarter of the range holds about 500 (±5 standard deviations is ±97).
        Assert.All(Enumerable.Range(0, 4), q => Assert.InRange(u.Count(x => x >= -1 + q * 0.5 && x < -0.5 + q * 0.5), 400, 600));
        Assert.All(Enumerable.Range(0, 4), q => Assert.InRange(logL.Count(x => x >= -4 + q && x < -3 + q), 400, 600));
    }

    [Fact]
    public void A_sweep_larger_than_the_limit_is_refused()
    {
        var exception = Assert.Throws<ArgumentException>(() => SweepExpander.Expand(TestSpecs.Simple(11), 10));
        Assert.Contains("11 trials", exception.Message, StringComparison.Ordinal);
    }

    private static JsonElement Parse(string json) => JsonDocument.Parse(json).RootElement;
}
