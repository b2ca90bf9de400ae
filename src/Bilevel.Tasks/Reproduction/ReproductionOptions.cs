namespace Bilevel.Tasks.Reproduction;

/// <summary>What the reproduction runs and where it writes.</summary>
public sealed record ReproductionOptions
{
    /// <summary>Folder for README.md and the PNG plots (created when missing). Default "results".</summary>
    public string OutputDirectory { get; init; } = "results";

    /// <summary>Smaller problems and fewer outer steps: about a quarter of the full run.</summary>
    public bool Quick { get; init; }

    /// <summary>Seed of every task (data splits, θ₀, minibatches, directions).</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Progress lines; defaults to standard output.</summary>
    public TextWriter Log { get; init; } = Console.Out;

    /// <summary><paramref name="full"/> outer steps, or <paramref name="quick"/> in quick mode.</summary>
    internal int Pick(int full, int quick) => Quick ? quick : full;
}
