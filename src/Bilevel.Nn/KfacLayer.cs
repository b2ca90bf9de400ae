using System.Numerics;
using Bilevel.Tensors;

namespace Bilevel.Nn;

/// <summary>The kind of a layer whose curvature block KFAC factorises.</summary>
public enum KfacLayerKind
{
    /// <summary>s = W a + b per sample; one row of the factor statistics per sample.</summary>
    Linear,

    /// <summary>
    /// A 2-d convolution: every output position is a linear layer applied to one im2col patch of C·kh·kw inputs, so
    /// each (sample, position) pair is one row of the factor statistics (weight sharing, KFAC-expand).
    /// </summary>
    Conv2d,
}

/// <summary>
/// One layer with a Kronecker-factored curvature block A ⊗ G: its pre-activation output is s = W ā, with ā = [a; 1]
/// when the layer has a bias. KFAC works on the layer's parameters as one matrix [W | b] of shape
/// [<see cref="OutputSize"/>, <see cref="FactorInputSize"/>]; <see cref="ToMatrix"/> and <see cref="FromMatrix"/>
/// map between that matrix and the model's flat parameter layout, whatever the storage order of the weight.
/// </summary>
public sealed record KfacLayer
{
    private KfacLayer(string name, KfacLayerKind kind, ParameterBlock weight, ParameterBlock? bias, int inputSize, int outputSize,
        bool inputMajor, int kernelHeight, int kernelWidth, int stride, Padding padding)
    {
        Name = name;
        Kind = kind;
        Weight = weight;
        Bias = bias;
        InputSize = inputSize;
        OutputSize = outputSize;
        InputMajor = inputMajor;
        KernelHeight = kernelHeight;
        KernelWidth = kernelWidth;
        Stride = stride;
        Padding = padding;
    }

    public string Name { get; }

    public KfacLayerKind Kind { get; }

    public ParameterBlock Weight { get; }

    public ParameterBlock? Bias { get; }

    /// <summary>d_in: the input features of a linear layer, C·kh·kw for a convolution.</summary>
    public int InputSize { get; }

    /// <summary>d_out: output features or channels.</summary>
    public int OutputSize { get; }

    /// <summary>d_in + 1 with a bias (the bias is the last column of the layer matrix and of A), else d_in.</summary>
    public int FactorInputSize => InputSize + (Bias is null ? 0 : 1);

    /// <summary>True when the weight is stored [d_in, d_out] and used as x·W (<see cref="Mlp"/>); false for [d_out, d_in] storage.</summary>
    public bool InputMajor { get; }

    public int KernelHeight { get; }

    public int KernelWidth { get; }

    public int Stride { get; }

    public Padding Padding { get; }

    /// <summary>A linear layer whose weight block is stored [d_in, d_out] and used as x·W, with an optional bias [d_out].</summary>
    public static KfacLayer Linear(string name, ParameterBlock weight, ParameterBlock? bias)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Shape.Rank != 2)
            throw new ArgumentException($"kfac layer {name}: a linear weight must have shape [in, out], got {weight.Shape}.", nameof(weight));
        int input = weight.Shape[0], output = weight.Shape[1];
        CheckBias(name, bias, output);
        return new KfacLayer(name, KfacLayerKind.Linear, weight, bias, input, output, inputMajor: true, 1, 1, 1, Padding.Valid);
    }

    /// <summary>A convolution whose weight block is stored [O, C, kh, kw], with an optional bias [O].</summary>
    public static KfacLayer Conv2d(string name, ParameterBlock weight, ParameterBlock? bias, int stride, Padding padding)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Shape.Rank != 4)
            throw new ArgumentException($"kfac layer {name}: a convolution weight must have shape [O, C, kh, kw], got {weight.Shape}.", nameof(weight));
        if (stride < 1)
            throw new ArgumentException($"kfac layer {name}: stride must be ≥ 1, got {stride}.", nameof(stride));
        int output = weight.Shape[0];
        CheckBias(name, bias, output);
        return new KfacLayer(name, KfacLayerKind.Conv2d, weight, bias, weight.Shape[1] * weight.Shape[2] * weight.Shape[3], output,
            inputMajor: false, weight.Shape[2], weight.Shape[3], stride, padding);
    }

    /// <summary>
    /// Copies this layer's entries of a flat vector (a gradient over the model's parameters) into the row-major
    /// matrix [W | b] of shape [d_out, d_in(+1)]: entry (o, j) multiplies input j in output o. The flat vector may be
    /// in the model's precision, so that a float gradient needs no double copy of all its entries.
    /// </summary>
    public void ToMatrix<T>(ReadOnlySpan<T> flat, Span<double> matrix) where T : unmanaged, INumberBase<T>
    {
        int cols = FactorInputSize;
        CheckLengths(flat.Length, matrix.Length);
        var w = flat.Slice(Weight.Offset, Weight.Length);
        for (int o = 0; o < OutputSize; o++)
        {
            var row = matrix.Slice(o * cols, cols);
            if (InputMajor)
                for (int j = 0; j < InputSize; j++) row[j] = double.CreateChecked(w[j * OutputSize + o]);
            else
                for (int j = 0; j < InputSize; j++) row[j] = double.CreateChecked(w[o * InputSize + j]);
            if (Bias is not null) row[InputSize] = double.CreateChecked(flat[Bias.Offset + o]);
        }
    }

    /// <summary>The inverse of <see cref="ToMatrix"/>: writes the matrix [d_out, d_in(+1)] into this layer's entries of <paramref name="flat"/>.</summary>
    public void FromMatrix<T>(ReadOnlySpan<double> matrix, Span<T> flat) where T : unmanaged, INumberBase<T>
    {
        int cols = FactorInputSize;
        CheckLengths(flat.Length, matrix.Length);
        var w = flat.Slice(Weight.Offset, Weight.Length);
        for (int o = 0; o < OutputSize; o++)
        {
            var row = matrix.Slice(o * cols, cols);
            if (InputMajor)
                for (int j = 0; j < InputSize; j++) w[j * OutputSize + o] = T.CreateChecked(row[j]);
            else
                for (int j = 0; j < InputSize; j++) w[o * InputSize + j] = T.CreateChecked(row[j]);
            if (Bias is not null) flat[Bias.Offset + o] = T.CreateChecked(row[InputSize]);
        }
    }

    private void CheckLengths(int flat, int matrix)
    {
        int end = Math.Max(Weight.Offset + Weight.Length, Bias is null ? 0 : Bias.Offset + Bias.Length);
        if (flat < end)
            throw new ArgumentException($"kfac layer {Name}: a flat vector of {flat} entries does not hold the layer's parameters (up to {end}).", nameof(flat));
        if (matrix != OutputSize * FactorInputSize)
            throw new ArgumentException($"kfac layer {Name}: the layer matrix needs {OutputSize}×{FactorInputSize} entries, got {matrix}.", nameof(matrix));
    }

    private static void CheckBias(string name, ParameterBlock? bias, int output)
    {
        if (bias is not null && (bias.Shape.Rank != 1 || bias.Shape[0] != output))
            throw new ArgumentException($"kfac layer {name}: the bias must have shape [{output}], got {bias.Shape}.", nameof(bias));
    }
}
