using Bilevel.Contracts;

namespace Bilevel.Grid.Tests.Specs;

/// <summary>
/// A corpus of a few hundred malformed specs, each read as JSON and as YAML (JSON is YAML too): every one must be
/// rejected with at least one message, naming the mutated field where there is one, and none may throw.
/// </summary>
public sealed class SpecFuzzTests
{
    private static readonly SweepSpecReader Reader = new(EstimatorNames.All);

    [Fact]
    public void Every_malformed_spec_is_rejected_with_a_message_naming_the_field_never_an_exception()
    {
        var corpus = SpecMutations.All().ToList();
        var problems = new List<string>();

        foreach (var mutation in corpus)
        {
            foreach (var (format, read) in new (string, Func<string, SpecValidationResult>)[] { ("json", Reader.ReadJson), ("yaml", Reader.ReadYaml) })
            {
                SpecValidationResult result;
                try
                {
                    result = read(mutation.Json);
                }
                catch (Exception e)
                {
                    problems.Add($"{format} {mutation.Description}: threw {e.GetType().Name}: {e.Message}");
                    continue;
                }
                if (result.IsValid)
                    problems.Add($"{format} {mutation.Description}: accepted");
                else if (result.Errors.Any(e => string.IsNullOrWhiteSpace(e.Message) || !e.Path.StartsWith('$')))
                    problems.Add($"{format} {mutation.Description}: an error without a path or a message");
                else if (mutation.ExpectedPath is { } path && !result.Errors.Any(e => e.Path == path))
                    problems.Add($"{format} {mutation.Description}: no error at {path}; got {string.Join(" | ", result.Errors)}");
            }
        }

        Assert.True(corpus.Count >= 300, $"the corpus has {corpus.Count} specs");
        Assert.True(problems.Count == 0, $"{problems.Count} of {corpus.Count * 2} readings went wrong:\n{string.Join("\n", problems.Take(40))}");
    }

    [Fact]
    public void The_unmutated_sample_is_valid_so_every_rejection_comes_from_its_mutation()
    {
        Assert.True(Reader.ReadJson(SpecSamples.Json).IsValid);
        Assert.True(Reader.ReadYaml(SpecSamples.Json).IsValid);
    }
}
