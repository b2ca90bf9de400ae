using Bilevel.Hypergradients;
using Bilevel.Hypergradients.Estimators;

namespace Bilevel.Benchmarks.Estimators;

/// <summary>An estimator as our worker runs it, with the PyTorch estimator it is compared with.</summary>
/// <param name="Key">Our worker's variant.</param>
/// <param name="Peer">The PyTorch estimator it is compared with.</param>
/// <param name="EngineThreads">TensorEngine.ThreadCount in the worker; null: the benchmark's thread count.</param>
internal sealed record Variant(string Key, string Peer, string Label, int? EngineThreads, Func<IHypergradientEstimator> Create, bool Deterministic)
{
    /// <summary>(FG)²U's directions b.</summary>
    public const int Directions = 8;

    /// <summary>The directions an (FG)²U variant carries: <see cref="Directions"/> but for the cost-split variants.</summary>
    public int Fg2uDirections { get; init; } = Directions;

    /// <summary>The core the worker's calls are pinned to; null: wherever the scheduler puts them.</summary>
    public int? Core { get; init; }

    private const int TruncationK = 10;
    private const int ImplicitK = 10;
    private const double NeumannAlpha = 0.05;
    private const double CgDamping = 0.01;
    private const double KfacDamping = 0.01;

    /// <summary>The table's rows, in order.</summary>
    public static IReadOnlyList<Variant> Estimators { get; } =
    [
        new("rgu", "rgu", "RGU", null, () => new ReverseUnrolling(), true),
        new("trgu", "trgu", $"TRGU(K={TruncationK})", null, () => new ReverseUnrolling(TruncationK), true),
        new("fg2u", "fg2u", $"FG2U(b={Directions})", null, () => new ForwardGradientUnrolling(Directions, threads: 2), false),
        new("neumann", "neumann", $"Neumann(K={ImplicitK})", null, () => new Neumann(ImplicitK, NeumannAlpha), true),
        new("cg", "cg", $"CG(K={ImplicitK})", null, () => new ConjugateGradient(ImplicitK, CgDamping), true),
        new("kfac", "kfac", "KFAC", null, () => new Kfac(KfacDamping), true),
    ];

    /// <summary>(FG)²U on one thread, timed against the main (FG)²U row (directions split over 2 threads); the first is the baseline.</summary>
    public static IReadOnlyList<Variant> Fg2uVariants { get; } =
    [
        new("fg2u-1", "fg2u", "threads: 1, 1 engine thread", 1, OnOneThread(Directions), false),
        new("fg2u-k", "fg2u", "threads: 1, 2 engine threads (kernels split)", 2, OnOneThread(Directions), false),
        // Fewer directions on one thread split a call's cost into its primal and its per-direction parts: what
        // the directions split repeats.
        new("fg2u-b1", "fg2u", "threads: 1, 1 engine thread, b = 1", 1, OnOneThread(1), false) { Fg2uDirections = 1 },
        new("fg2u-b4", "fg2u", "threads: 1, 1 engine thread, b = 4", 1, OnOneThread(4), false) { Fg2uDirections = 4 },
        // The same call on each core alone: this machine's two vCPUs at times run at different speeds, which bounds
        // what two threads can gain whatever the code does.
        new("fg2u-1-core0", "fg2u", "threads: 1, 1 engine thread, on core 0", 1, OnOneThread(Directions), false) { Core = 0 },
        new("fg2u-1-core1", "fg2u", "threads: 1, 1 engine thread, on core 1", 1, OnOneThread(Directions), false) { Core = 1 },
    ];

    /// <summary>(FG)²U with <paramref name="directions"/> directions carried by one trajectory (no directions split).</summary>
    private static Func<IHypergradientEstimator> OnOneThread(int directions) => () => new ForwardGradientUnrolling(directions, threads: 1);

    public static Variant Find(string key) => Estimators.Concat(Fg2uVariants).Single(v => v.Key == key);
}
