namespace Bilevel.Contracts;

/// <summary>
/// The hypergradient estimators of the design (§3), by the names a sweep spec uses. The spec reader checks names
/// against the list its caller passes in, which is the estimator registry of the running build; this is that list
/// for a build that has every estimator.
/// </summary>
public static class EstimatorNames
{
    public const string Rgu = "rgu";
    public const string Trgu = "trgu";
    public const string Fgu = "fgu";
    public const string Fg2u = "fg2u";
    public const string Fg2uZo = "fg2u-zo";
    public const string HessianFree = "hf";
    public const string Neumann = "neumann";
    public const string ConjugateGradient = "cg";
    public const string Kfac = "kfac";

    public static IReadOnlyList<string> All { get; } =
        [Rgu, Trgu, Fgu, Fg2u, Fg2uZo, HessianFree, Neumann, ConjugateGradient, Kfac];
}
