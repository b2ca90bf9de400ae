using Bilevel.Tasks.Config;
using Bilevel.Tasks.Hpo;

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

    public static string Of(DecayGranularity decay) => decay switch
    {
        DecayGranularity.None => "none",
        DecayGranularity.Global => "global",
        DecayGranularity.PerLayer => "per-layer",
        DecayGranularity.PerParameter => "per-parameter",
        _ => throw new ArgumentOutOfRangeException(nameof(decay), decay, "Unknown decay granularity."),
    };

    public static string Of(DecayTransform transform) => transform switch
    {
        DecayTransform.Softplus => "softplus",
        DecayTransform.Exp => "exp",
        _ => throw new ArgumentOutOfRangeException(nameof(transform), transform, "Unknown decay transform."),
    };
}
