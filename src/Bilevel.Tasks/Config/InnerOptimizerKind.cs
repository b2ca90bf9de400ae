using Bilevel.Nn.Optimizers;

namespace Bilevel.Tasks.Config;

/// <summary>The inner optimizer a task config names.</summary>
public enum InnerOptimizerKind
{
    Sgd,
    Momentum,
    Adam,
}

internal static class InnerOptimizers
{
    public static IInnerOptimizer Create(InnerOptimizerKind kind, double momentum) => kind switch
    {
        InnerOptimizerKind.Sgd => new Sgd(),
        InnerOptimizerKind.Momentum => new Momentum(momentum),
        InnerOptimizerKind.Adam => new Adam(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown inner optimizer."),
    };
}
