using System.Numerics;
using Bilevel.Tensors;

namespace Bilevel.Nn;

/// <summary>
/// Fully connected layers with ReLU between them: widths [d₀, d₁, …, d_L]. Layer l has W [d_{l−1}, d_l] used as
/// x·W (no transpose at run time) and bias b [d_l]. A single layer (two widths) is a linear model. Every layer is
/// a Kronecker-factored layer for KFAC (<see cref="IKfacModel"/>).
/// </summary>
public sealed class Mlp : IKfacModel
{
    private readonly (ParameterBlock Weight, ParameterBlock Bias)[] layers;

    public Mlp(params int[] widths)
    {
        if (widths.Length < 2 || widths.Any(w => w < 1))
            throw new ArgumentException($"mlp: widths [{string.Join(", ", widths)}] need at least an input and an output width, each ≥ 1.", nameof(widths));
        Widths = (int[])widths.Clone();
        layers = new (ParameterBlock, ParameterBlock)[widths.Length - 1];
        for (int l = 0; l < layers.Length; l++)
            layers[l] = (Layout.Add($"layer{l}.weight", widths[l], widths[l + 1]), Layout.Add($"layer{l}.bias", widths[l + 1]));
        KfacLayers = layers.Select((p, l) => KfacLayer.Linear($"layer{l}", p.Weight, p.Bias)).ToArray();
    }

    public IReadOnlyList<int> Widths { get; }

    public ParameterLayout Layout { get; } = new();

    public IReadOnlyList<KfacLayer> KfacLayers { get; }

    public Tensor<T> Forward<T>(Tensor<T> parameters, Tensor<T> x) where T : unmanaged, IFloatingPointIeee754<T>
        => Forward(parameters, x, null);

    public Tensor<T> Forward<T>(Tensor<T> parameters, Tensor<T> x, KfacCapture<T>? capture) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Layout.CheckVector(parameters, "mlp");
        capture?.CheckModel(this, "mlp");
        if (x.Rank != 2 || x.Shape[1] != Widths[0])
            throw new ArgumentException($"mlp: input has shape {x.Shape}, expected [N, {Widths[0]}].", nameof(x));
        var h = x;
        for (int l = 0; l < layers.Length; l++)
        {
            var input = h;
            h = Ops.Add(Ops.MatMul(h, ParameterLayout.View(parameters, layers[l].Weight)), ParameterLayout.View(parameters, layers[l].Bias));
            if (capture is not null) h = capture.Tap(l, input, h);
            if (l < layers.Length - 1) h = Ops.Relu(h);
        }
        return h;
    }

    public Tensor<T> Initialize<T>(ulong seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var init = new Initializer<T>(Layout, seed);
        foreach (var (w, _) in layers) init.Uniform(w, fanIn: w.Shape[0]);
        return init.Result;
    }
}
