using Bilevel.Hypergradients.Estimators;

namespace Bilevel.Hypergradients.Tests;

/// <summary>Impossible options are rejected with an ArgumentException that names the option.</summary>
public sealed class BadInputTests
{
    public static TheoryData<Func<object>, string> Cases => new()
    {
        { () => new ForwardGradientUnrolling(0), "directions" },
        { () => new ForwardGradientUnrolling(-3), "directions" },
        { () => new ForwardGradientUnrolling(4, chunkSize: 0), "chunkSize" },
        { () => new ForwardGradientUnrolling(4, threads: 0), "threads" },
        { () => new ZerothOrder(0, 1e-3), "directions" },
        { () => new ZerothOrder(4, -1e-3), "mu" },
        { () => new ZerothOrder(4, double.NaN), "mu" },
        { () => new ReverseUnrolling(truncation: -1), "K" },
        { () => new Neumann(-1, 0.1), "K" },
        { () => new Neumann(5, 0), "alpha" },
        { () => new ConjugateGradient(-2), "K" },
        { () => new ConjugateGradient(5, damping: -0.1), "damping" },
        { () => new HessianFree(-1), "alpha" },
        { () => new ForwardUnrolling(chunkSize: 0), "chunkSize" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ImpossibleOptionsAreRejectedByName(Func<object> create, string option)
    {
        var error = Assert.ThrowsAny<ArgumentException>(create);
        Assert.Contains(option, error.Message, StringComparison.Ordinal);
    }
}
