using System.Numerics;
using Bilevel.Tensors;

namespace Bilevel.Nn;

/// <summary>
/// The ConvNet of dataset condensation: <paramref name="depth"/> blocks of conv 3×3 SAME → ReLU → instance norm
/// (affine) → 2×2 average pool, then a linear classifier on the flattened NCHW features.
/// </summary>
public sealed class ConvNet : IModel
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
    }

    public int InChannels { get; }

    public int Height { get; }

    public int Width { get; }

    /// <summary>Length of the flattened feature vector fed to the classifier.</summary>
    public int Features { get; }

    public ParameterLayout Layout { get; } = new();

    public Tensor<T> Forward<T>(Tensor<T> parameters, Tensor<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Layout.CheckVector(parameters, "convnet");
        if (x.Rank != 4 || x.Shape[1] != InChannels || x.Shape[2] != Height || x.Shape[3] != Width)
            throw new ArgumentException($"convnet: input has shape {x.Shape}, expected [N, {InChannels}, {Height}, {Width}].", nameof(x));
        var h = x;
        foreach (var (w, b, gamma, beta) in blocks)
        {
            h = Ops.Conv2d(h, ParameterLayout.View(parameters, w), ParameterLayout.View(parameters, b), stride: 1, Padding.Same);
            h = Ops.Relu(h);
            h = Ops.InstanceNorm(h, ParameterLayout.View(parameters, gamma), ParameterLayout.View(parameters, beta));
            h = Ops.AvgPool2d(h, 2, 2);
        }
        h = Ops.Reshape(h, h.Shape[0], Features);
        return Ops.Add(Ops.MatMul(h, ParameterLayout.View(parameters, classifierWeight)), ParameterLayout.View(parameters, classifierBias));
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
