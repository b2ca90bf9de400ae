using Bilevel.Tasks.Config;

namespace Bilevel.Tasks.Tests.Peer;

/// <summary>How the peer scripts' spec.json names the tasks' options.</summary>
internal static class PeerNames
{
    public static string Of(InnerOptimizerKind optimizer) => optimizer switch
    {
        InnerOptimizerKind.Sgd => "sgd",
        InnerOptimizerKind.Momentum => "momentum",
        _ => throw new ArgumentOutOfRangeException(nameof(optimizer), optimizer, "The peers implement SGD and momentum."),
    };
}
