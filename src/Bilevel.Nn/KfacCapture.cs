using System.Numerics;
using Bilevel.Tensors;

namespace Bilevel.Nn;

/// <summary>
/// What KFAC observes of a forward pass of an <see cref="IKfacModel"/>: each Kronecker-factored layer's input a
/// (recorded detached, while <see cref="RecordInputs"/> is on) and, through additive probes, the gradients δ of a
/// loss with respect to the layer's pre-activation output s. The engine differentiates with respect to the inputs
/// of the differentiated function only, so the capture offers one zero "probe" e_l per layer: the model continues
/// with s_l + e_l, and the derivative of any loss with respect to e_l is its derivative with respect to s_l.
/// </summary>
/// <remarks>
/// Use: run the forward pass once with a fresh capture (it records the inputs and the output shapes), take
/// <see cref="ZeroProbes"/>, turn <see cref="RecordInputs"/> off, and differentiate
/// <c>ps =&gt; { capture.Probes = ps; return model.Forward(θ, x, capture); }</c> with respect to the probes.
/// The recorded tensors belong to the tensor scope that was active during the forward pass.
/// </remarks>
public sealed class KfacCapture<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Elements of one chunk of im2col rows; bounds the memory of <see cref="InputSecondMoment"/> for convolutions.</summary>
    private const int ChunkElements = 1 << 22;

    private readonly Tensor<T>?[] inputs;
    private readonly Shape?[] outputShapes;

    public KfacCapture(IReadOnlyList<KfacLayer> layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        Layers = layers;
        inputs = new Tensor<T>?[layers.Count];
        outputShapes = new Shape?[layers.Count];
    }

    public IReadOnlyList<KfacLayer> Layers { get; }

    /// <summary>Whether <see cref="Tap"/> records the layer inputs and output shapes (default on).</summary>
    public bool RecordInputs { get; set; } = true;

    /// <summary>One tensor per layer, shaped like the layer's pre-activation output, added to it; null: no probes.</summary>
    public IReadOnlyList<Tensor<T>>? Probes { get; set; }

    /// <summary>The recorded layer inputs: [N, d_in] for a linear layer, the image [N, C, H, W] for a convolution.</summary>
    public IReadOnlyList<Tensor<T>?> Inputs => inputs;

    /// <summary>The recorded shapes of the layers' pre-activation outputs.</summary>
    public IReadOnlyList<Shape?> OutputShapes => outputShapes;

    /// <summary>Called by the model for layer <paramref name="index"/>: records its input and returns the output plus its probe.</summary>
    public Tensor<T> Tap(int index, Tensor<T> input, Tensor<T> output)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        if ((uint)index >= (uint)Layers.Count)
            throw new ArgumentException($"kfac capture: layer {index} is outside the {Layers.Count} layers of the capture.", nameof(index));
        var layer = Layers[index];
        CheckShapes(layer, input.Shape, output.Shape);
        if (RecordInputs)
        {
            inputs[index] = Ops.Detach(input);
            outputShapes[index] = output.Shape;
        }
        if (Probes is not { } probes) return output;
        if (probes.Count != Layers.Count)
            throw new InvalidOperationException($"kfac capture: {probes.Count} probes for {Layers.Count} layers.");
        if (probes[index].Shape != output.Shape)
            throw new InvalidOperationException($"kfac capture: the probe of layer {layer.Name} has shape {probes[index].Shape}, but the layer's output has shape {output.Shape}; take the probes from a recording pass on the same batch.");
        return Ops.Add(output, probes[index]);
    }

    /// <summary>Throws unless this capture was made for <paramref name="model"/>'s layers (called by the models).</summary>
    internal void CheckModel(IKfacModel model, string name)
    {
        if (!ReferenceEquals(Layers, model.KfacLayers) && !Layers.SequenceEqual(model.KfacLayers))
            throw new ArgumentException($"{name}: the KFAC capture was made for other layers ({string.Join(", ", Layers.Select(l => l.Name))}); make it from this model's KfacLayers.", "capture");
    }

    /// <summary>Zero probes shaped like the recorded outputs.</summary>
    public Tensor<T>[] ZeroProbes()
    {
        var probes = new Tensor<T>[Layers.Count];
        for (int l = 0; l < probes.Length; l++)
            probes[l] = Tensor<T>.Zeros(outputShapes[l] ?? throw NotRecorded(l));
        return probes;
    }

    /// <summary>
    /// Σ ā āᵀ over the rows of layer <paramref name="index"/>'s recorded input — one row per sample for a linear
    /// layer, one im2col patch per (sample, output position) for a convolution — with ā = [a; 1] when the layer has a
    /// bias; a row-major [d, d] matrix, d = <see cref="KfacLayer.FactorInputSize"/>, and the number of rows.
    /// </summary>
    public (double[] Sum, long Rows) InputSecondMoment(int index)
    {
        var sum = new double[Layers[index].FactorInputSize * Layers[index].FactorInputSize];
        return (sum, AddInputSecondMoment(index, sum));
    }

    /// <summary>
    /// Adds the <see cref="InputSecondMoment(int)"/> of layer <paramref name="index"/> into <paramref name="sum"/>
    /// (a caller-owned [d, d] buffer, so that a caller refreshing the factors keeps reusing one) and returns the
    /// number of rows.
    /// </summary>
    public long AddInputSecondMoment(int index, Span<double> sum)
    {
        var layer = Layers[index];
        var input = inputs[index] ?? throw NotRecorded(index);
        int d = layer.FactorInputSize;
        if (sum.Length != d * d)
            throw new ArgumentException($"kfac capture: the input second moment of layer {layer.Name} needs {d}×{d} entries, got {sum.Length}.", nameof(sum));
        if (layer.Kind == KfacLayerKind.Linear)
        {
            using var scope = TensorScope.Begin();
            Accumulate(sum, layer, input);
            return input.Shape[0];
        }
        var geometry = KfacPatches.Geometry(layer, input.Shape);
        int perSample = geometry.Positions * layer.InputSize;
        int chunk = Math.Max(1, ChunkElements / Math.Max(1, perSample));
        int n = input.Shape[0];
        for (int start = 0; start < n; start += chunk)
        {
            using var scope = TensorScope.Begin();
            var part = Ops.Slice(input, 0, start, Math.Min(chunk, n - start));
            Accumulate(sum, layer, KfacPatches.Rows(part, layer, geometry));
        }
        return (long)n * geometry.Positions;
    }

    /// <summary>
    /// Σ δ δᵀ over the rows of an output gradient of layer <paramref name="index"/> (shaped like its output: one row
    /// per sample, or per (sample, position) for a convolution); a row-major [d_out, d_out] matrix.
    /// </summary>
    public double[] OutputSecondMoment(int index, Tensor<T> outputGradient)
    {
        var result = new double[Layers[index].OutputSize * Layers[index].OutputSize];
        AddOutputSecondMoment(index, outputGradient, result);
        return result;
    }

    /// <summary>Adds the <see cref="OutputSecondMoment"/> of <paramref name="outputGradient"/> into the caller-owned [d_out, d_out] <paramref name="sum"/>.</summary>
    public void AddOutputSecondMoment(int index, Tensor<T> outputGradient, Span<double> sum)
    {
        ArgumentNullException.ThrowIfNull(outputGradient);
        var layer = Layers[index];
        var shape = outputShapes[index] ?? throw NotRecorded(index);
        if (outputGradient.Shape != shape)
            throw new ArgumentException($"kfac capture: the output gradient of layer {layer.Name} has shape {outputGradient.Shape}, expected the output's {shape}.", nameof(outputGradient));
        if (sum.Length != layer.OutputSize * layer.OutputSize)
            throw new ArgumentException($"kfac capture: the output second moment of layer {layer.Name} needs {layer.OutputSize}×{layer.OutputSize} entries, got {sum.Length}.", nameof(sum));
        using var scope = TensorScope.Begin();
        var rows = outputGradient;
        if (layer.Kind == KfacLayerKind.Conv2d)
        {
            int n = shape[0], o = shape[1], p = shape[2] * shape[3];
            rows = Ops.Reshape(Ops.Permute(Ops.Reshape(outputGradient, n, o, p), 0, 2, 1), n * p, o);
        }
        var moment = Ops.MatMul(rows, rows, transposeA: true).Span;
        for (int i = 0; i < sum.Length; i++) sum[i] += double.CreateChecked(moment[i]);
    }

    /// <summary>Adds Σ ā āᵀ of <paramref name="rows"/> [r, d_in] into the [d, d] matrix <paramref name="sum"/>.</summary>
    private static void Accumulate(Span<double> sum, KfacLayer layer, Tensor<T> rows)
    {
        int din = layer.InputSize, d = layer.FactorInputSize;
        var gram = Ops.MatMul(rows, rows, transposeA: true).Span;
        for (int i = 0; i < din; i++)
            for (int j = 0; j < din; j++)
                sum[i * d + j] += double.CreateChecked(gram[i * din + j]);
        if (layer.Bias is null) return;
        var columns = Ops.Sum(rows, [0]).Span;
        for (int i = 0; i < din; i++)
        {
            double c = double.CreateChecked(columns[i]);
            sum[i * d + din] += c;
            sum[din * d + i] += c;
        }
        sum[din * d + din] += rows.Shape[0];
    }

    private static void CheckShapes(KfacLayer layer, Shape input, Shape output)
    {
        bool ok = layer.Kind == KfacLayerKind.Linear
            ? input.Rank == 2 && input[1] == layer.InputSize && output.Rank == 2 && output[0] == input[0] && output[1] == layer.OutputSize
            : input.Rank == 4 && input[1] * layer.KernelHeight * layer.KernelWidth == layer.InputSize
              && output.Rank == 4 && output[0] == input[0] && output[1] == layer.OutputSize;
        if (!ok)
            throw new ArgumentException($"kfac capture: layer {layer.Name} ({layer.Kind}, d_in {layer.InputSize}, d_out {layer.OutputSize}) got input {input} and output {output}.");
    }

    private InvalidOperationException NotRecorded(int index)
        => new($"kfac capture: layer {Layers[index].Name} was not recorded; run a forward pass with this capture and RecordInputs on first.");
}
