namespace Bilevel.Contracts;

/// <summary>
/// The searched parameters by name, and how many random <see cref="Samples"/> to draw for each grid point, from a
/// generator seeded with <see cref="Seed"/>. A sweep has (product of grid sizes) × samples × seeds trials.
/// Parameter names are handed to the task runner with each trial's values.
/// </summary>
public sealed record SearchSpace(long Seed, int Samples, IReadOnlyDictionary<string, SearchParameter> Parameters)
{
    public static SearchSpace Empty { get; } = new(0, 1, new Dictionary<string, SearchParameter>());
}
