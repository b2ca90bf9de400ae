using System.Numerics;
using Bilevel.Tensors;

namespace Bilevel.Nn;

/// <summary>
/// The ConvNet of dataset condensation: <paramref name="depth"/> blocks of conv 3×3 SAME → ReLU → instance norm
/// (affine) → 2×2 average pool, then a linear classifier on the flattened NCHW features. The convolutions and the
/// classifier are Kronecker-factored layers for KFAC (<see cref="IKfacModel"/>); the instance-norm γ, β are not.
/// </summary>
public sealed class ConvNet : IKfacModel
{
    private readonly (ParameterBlock Weight, ParameterBlock Bias, ParameterBlock Gamma, ParameterBlock Beta)[] blocks;
    private readonly ParameterBlock classifierWeight;
    private readonly ParameterBlock classifierBias;

    public ConvNet(int inChannels, int height, int width, int classes, int channels = 128, int depth = 3)
    {
        if (inChannels < 1 || height < 1 || width < 1 || classes < 1 || channels < 1 || depth < 1)
            throw new ArgumentException($"convnet: every size must be ≥ 1 (in {inChannels}, {height}×{width}, classes {classes}, channels {channels}, depth {depth}).");
        if ((height >> depth) < 1 || (width >> depth) < 1)
            throw new ArgumentException($"convnet: {depth} pooling blocks shrink {height}×{width} to nothing; use depth ≤ {(int)Math.Log2(Math.Min(height, width))}.", nameof(depth));
        InChannels = inChannels;
        Height = height;
        Width = width;
        blocks = new (ParameterBlock, ParameterBlock, ParameterBlock, ParameterBlock)[depth];
        int c = inChannels;
        for (int l = 0; l < depth; l++)
        {
            blocks[l] = (Layout.Add($"block{l}.conv.weight", channels, c, 3, 3), Layout.Add($"block{l}.conv.bias", channels),
                         Layout.Add($"block{l}.norm.gamma", channels), Layout.Add($"block{l}.norm.beta", channels));
            c = channels;
        }
        Features = channels * (height >> depth) * (width >> depth);
        classifierWeight = Layout.Add("classifier.weight", Features, classes);
        classifierBias = Layout.Add("classifier.bias", classes);
        KfacLayers = [.. blocks.Select((b, l) => KfacLayer.Conv2d($"block{l}.conv", b.Weight, b.Bias, stride: 1, Padding.Same)),
                      KfacLayer.Linear("classifier", classifierWeight, classifierBias)];
    }

    public int InChannels { get; }

    public int Height { get; }

    public int Width { get; }

    /// <summary>Length of the flattened feature vector fed to the classifier.</summary>
    public int Features { get; }

    public ParameterLayout Layout { get; } = new();

    public IReadOnlyList<KfacLayer> KfacLayers { get; }

    public Tensor<T> Forward<T>(Tensor<T> parameters, Tensor<T> x) where T : unmanaged, IFloatingPointIeee754<T>
        => Forward(parameters, x, null);

    public Tensor<T> Forward<T>(Tensor<T> parameters, Tensor<T> x, KfacCapture<T>? capture) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Layout.CheckVector(parameters, "convnet");
        capture?.CheckModel(this, "convnet");
        if (x.Rank != 4 || x.Shape[1] != InChannels || x.Shape[2] != Height || x.Shape[3] != Width)
            throw new ArgumentException($"convnet: input has shape {x.Shape}, expected [N, {InChannels}, {Height}, {Width}].", nameof(x));
        var h = x;
        for (int l = 0; l < blocks.Length; l++)
        {
            var (w, b, gamma, beta) = blocks[l];
            var input = h;
            h = Ops.Conv2d(h, ParameterLayout.View(parameters, w), ParameterLayout.View(parameters, b), stride: 1, Padding.Same);
            if (capture is not null) h = capture.Tap(l, input, h);
            h = Ops.Relu(h);
            h = Ops.InstanceNorm(h, ParameterLayout.View(parameters, gamma), ParameterLayout.View(parameters, beta));
            h = Ops.AvgPool2d(h, 2, 2);
        }
        h = Ops.Reshape(h, h.Shape[0], Features);
        var logits = Ops.Add(Ops.MatMul(h, ParameterLayout.View(parameters, classifierWeight)), ParameterLayout.View(parameters, classifierBias));
        return capture is null ? logits : capture.Tap(blocks.Length, h, logits);
    }

    public Tensor<T> Initialize<T>(ulong seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var init = new Initializer<T>(Layout, seed);
        foreach (var (w, b, gamma, _) in blocks)
        {
            init.Uniform(w, fanIn: w.Shape[1] * 9);
            init.Uniform(b, fanIn: w.Shape[1] * 9);
            init.Fill(gamma, T.One);
        }
        init.Uniform(classifierWeight, fanIn: Features);
        return init.Result;
    }
}
