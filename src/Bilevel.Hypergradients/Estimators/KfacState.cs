namespace Bilevel.Hypergradients.Estimators;

/// <summary>
/// The Kronecker factors of one layer, row-major: A [d_in(+1)]² (input second moment, bias last) and
/// G [d_out]² (output-gradient second moment).
/// </summary>
/// <param name="InputSize">The size of A: d_in, plus 1 when the layer has a bias.</param>
/// <param name="OutputSize">The size of G: d_out.</param>
public sealed record KfacLayerFactors(string Layer, int InputSize, int OutputSize, double[] A, double[] G)
{
    internal KfacLayerFactors Copy() => this with { A = (double[])A.Clone(), G = (double[])G.Clone() };
}

/// <summary>
/// What a <see cref="Kfac"/> estimator carries from one outer step to the next: the (moving-average) factors of
/// every layer, the outer step of their last refresh and how many refreshes they have absorbed. Plain data, so that
/// a trial's checkpoint can store it (e.g. as JSON) and a resumed trial can restore it with <see cref="Kfac.Restore"/>.
/// </summary>
/// <param name="Step">The outer step at which the factors were last refreshed.</param>
/// <param name="Updates">Refreshes averaged into the factors since they were first computed.</param>
public sealed record KfacState(long Step, int Updates, IReadOnlyList<KfacLayerFactors> Layers)
{
    internal KfacState Copy() => this with { Layers = Layers.Select(l => l.Copy()).ToArray() };
}
