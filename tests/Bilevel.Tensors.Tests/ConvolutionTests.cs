using Bilevel.Tensors.Internal.Kernels;

namespace Bilevel.Tensors.Tests;

public class ConvolutionTests
{
    /// <summary>N, C, H, W, O, kh, kw, stride, padding (−1 = same, ≥ 0 explicit zeros per side).</summary>
    public static TheoryData<int, int, int, int, int, int, int, int, int> Geometries => new()
    {
        { 2, 3, 5, 5, 4, 3, 3, 1, -1 },  // SAME, stride 1
        { 2, 3, 7, 6, 2, 3, 3, 2, -1 },  // SAME, stride 2, odd height
        { 1, 2, 7, 5, 3, 3, 2, 1, 0 },   // VALID, non-square kernel
        { 2, 2, 9, 7, 3, 3, 3, 2, 0 },   // VALID, stride 2, odd sizes
        { 1, 2, 6, 5, 2, 4, 4, 1, -1 },  // SAME with an even kernel: the extra zero goes to the end
        { 2, 1, 5, 6, 2, 3, 3, 3, 2 },   // explicit padding 2, stride 3
        { 3, 4, 4, 5, 5, 1, 1, 1, 0 },   // pointwise (1×1): the image is its own column matrix
        { 2, 3, 5, 5, 2, 1, 1, 2, 0 },   // 1×1 at stride 2
        { 1, 1, 2, 3, 2, 5, 5, 1, -1 },  // kernel larger than the image
    };

    [Theory]
    [MemberData(nameof(Geometries))]
    public void ForwardMatchesNaiveLoops(int n, int c, int h, int w, int o, int kh, int kw, int stride, int padding)
    {
        using var scope = TensorScope.Begin();
        var rng = new Random(1);
        var x = Random(rng, n, c, h, w);
        var wt = Random(rng, o, c, kh, kw);
        var bias = Random(rng, o);
        var y = Conv(x, wt, bias, stride, padding);
        var expected = ConvReference.Forward(x, wt, bias, stride, padding);
        AssertClose(expected, y, 1e-13);
        Assert.Equal(expected.Shape, y.Shape);
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void TransposedOpsMatchNaiveLoops(int n, int c, int h, int w, int o, int kh, int kw, int stride, int padding)
    {
        using var scope = TensorScope.Begin();
        var rng = new Random(2);
        var x = Random(rng, n, c, h, w);
        var wt = Random(rng, o, c, kh, kw);
        var outShape = ConvReference.Forward(x, wt, null, stride, padding).Shape;
        var g = Random(rng, outShape.ToArray());
        var gx = padding < 0 ? Ops.Conv2dInputGrad(g, wt, x.Shape, stride, Padding.Same) : Ops.Conv2dInputGrad(g, wt, x.Shape, stride, padding);
        var gw = padding < 0 ? Ops.Conv2dWeightGrad(x, g, wt.Shape, stride, Padding.Same) : Ops.Conv2dWeightGrad(x, g, wt.Shape, stride, padding);
        var (ex, ew) = ConvReference.Adjoints(x, wt, g, stride, padding);
        AssertClose(ex, gx, 1e-13);
        AssertClose(ew, gw, 1e-13);
    }

    /// <summary>3×3 stride-1 kernels between at least 16 channels on planes of 36+ tiles take the Winograd path; padding −1 = same.</summary>
    [Theory]
    [InlineData(2, 12, 12, -1)]
    [InlineData(1, 13, 11, -1)]  // odd sizes: edge tiles are cut
    [InlineData(1, 14, 13, 0)]
    [InlineData(1, 12, 12, 2)]
    [InlineData(1, 11, 12, 3)]   // padding 3: the transposed convolution starts inside its input (padding 2 − 3 = −1)
    [InlineData(1, 4, 40, -1)]   // 20 tiles a row, 2 rows
    [InlineData(1, 80, 3, -1)]   // 2 tiles a row, 40 rows
    public void WinogradMatchesNaiveLoops(int n, int h, int w, int padding)
    {
        using var scope = TensorScope.Begin();
        var rng = new Random(11);
        var x = Random(rng, n, 16, h, w);
        var wt = Random(rng, 17, 16, 3, 3);
        var bias = Random(rng, 17);
        int ho = padding < 0 ? h : h + 2 * padding - 2, wo = padding < 0 ? w : w + 2 * padding - 2;
        Assert.True(ConvWinograd.Applies(new ConvGeometry(n, 16, h, w, 17, 3, 3, 1, Math.Max(padding, 1), Math.Max(padding, 1), ho, wo)));
        var y = Conv(x, wt, bias, 1, padding);
        AssertClose(ConvReference.Forward(x, wt, bias, 1, padding), y, 1e-13);
        var g = Random(rng, y.Shape.ToArray());
        var (ex, ew) = ConvReference.Adjoints(x, wt, g, 1, padding);
        AssertClose(ex, padding < 0 ? Ops.Conv2dInputGrad(g, wt, x.Shape) : Ops.Conv2dInputGrad(g, wt, x.Shape, 1, padding), 1e-13);
        AssertClose(ew, padding < 0 ? Ops.Conv2dWeightGrad(x, g, wt.Shape) : Ops.Conv2dWeightGrad(x, g, wt.Shape, 1, padding), 1e-13);
    }

    [Fact]
    public void WinogradDerivativesMatchFiniteDifferences()
    {
        var rng = new Random(12);
        var x = Random(rng, 1, 16, 12, 11);
        var w = Random(rng, 16, 16, 3, 3);
        var b = Random(rng, 16);
        GradCheck.Check("conv2d (winograd)", v => Ops.Conv2d(v[0], v[1], v[2]), x, w, b);
        var g = Random(rng, 1, 16, 12, 11);
        GradCheck.Check("conv2d-input-grad (winograd)", v => Ops.Conv2dInputGrad(v[0], v[1], x.Shape), g, w);
        GradCheck.Check("conv2d-weight-grad (winograd)", v => Ops.Conv2dWeightGrad(v[0], v[1], w.Shape), x, g);
    }

    [Fact]
    public void WinogradInSinglePrecisionStaysCloseToDouble()
    {
        // A ConvNet-like layer: 2.25 times fewer products, and errors still at the level of float rounding.
        using var scope = TensorScope.Begin();
        var rng = new Random(13);
        var x = Random(rng, 1, 64, 14, 14);
        var w = Ops.Scale(Random(rng, 32, 64, 3, 3), 1.0 / 24);
        var g = Random(rng, 1, 32, 14, 14);
        var (ex, ew) = ConvReference.Adjoints(x, w, g, 1, -1);
        AssertRelativeError(ConvReference.Forward(x, w, null, 1, -1), Ops.Conv2d(ToFloat(x), ToFloat(w)), 1e-6);
        AssertRelativeError(ex, Ops.Conv2dInputGrad(ToFloat(g), ToFloat(w), x.Shape), 1e-6);
        AssertRelativeError(ew, Ops.Conv2dWeightGrad(ToFloat(x), ToFloat(g), w.Shape), 1e-6);

        static void AssertRelativeError(Tensor<double> expected, Tensor<float> actual, double tolerance)
        {
            var e = expected.ToArray();
            var a = actual.ToArray();
            double error = 0, norm = 0;
            for (int i = 0; i < e.Length; i++)
            {
                error += (a[i] - e[i]) * (a[i] - e[i]);
                norm += e[i] * e[i];
            }
            double relative = Math.Sqrt(error / norm);
            Assert.True(relative < tolerance, $"relative error {relative:G3} (normwise) exceeds {tolerance:G2}");
        }
    }

    [Fact]
    public void ValidEnumEqualsExplicitZeroAndSameKeepsTheSize()
    {
        using var scope = TensorScope.Begin();
        var rng = new Random(3);
        var x = Random(rng, 2, 3, 7, 6);
        var w = Random(rng, 4, 3, 3, 3);
        Assert.Equal(Ops.Conv2d(x, w, null, 1, 0).ToArray(), Ops.Conv2d(x, w, null, 1, Padding.Valid).ToArray());
        Assert.Equal(new Shape(2, 4, 7, 6), Ops.Conv2d(x, w).Shape);
        Assert.Equal(new Shape(2, 4, 4, 3), Ops.Conv2d(x, w, null, 2).Shape);
        Assert.Equal(new Shape(2, 4, 5, 4), Ops.Conv2d(x, w, null, 1, Padding.Valid).Shape);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]   // seven images in ranges of 2, 2 and 3: the weight gradient adds three partial sums
    [InlineData(5)]
    public void SmallProductsSpreadOverImageRangesStayExact(int threads)
    {
        // A one-channel 28×28 layer: each image's 4×784×9 product is too small to split, so images go in ranges.
        using var scope = TensorScope.Begin();
        using var limit = TensorEngine.LimitThreads(threads);
        var rng = new Random(5);
        var x = Random(rng, 7, 1, 28, 28);
        var w = Random(rng, 4, 1, 3, 3);
        var bias = Random(rng, 4);
        var g = Random(rng, 7, 4, 28, 28);
        AssertClose(ConvReference.Forward(x, w, bias, 1, -1), Ops.Conv2d(x, w, bias), 1e-12);
        var (ex, ew) = ConvReference.Adjoints(x, w, g, 1, -1);
        AssertClose(ex, Ops.Conv2dInputGrad(g, w, x.Shape), 1e-12);
        AssertClose(ew, Ops.Conv2dWeightGrad(x, g, w.Shape), 1e-12);
    }

    [Theory]
    [InlineData(3, 2, 24, 2)]   // a 24×24 output fills a GEMM alone: three images, three GEMMs
    [InlineData(11, 3, 8, 2)]   // 8×8 outputs go 8 images to a GEMM: a full group and a partial one
    public void ImageGroupsAreExactAndRepeatBitForBit(int n, int c, int size, int o)
    {
        using var scope = TensorScope.Begin();
        var rng = new Random(4);
        var x = Random(rng, n, c, size, size);
        var w = Random(rng, o, c, 3, 3);
        var bias = Random(rng, o);
        var y1 = Ops.Conv2d(x, w, bias);
        var y2 = Ops.Conv2d(x, w, bias);
        AssertClose(ConvReference.Forward(x, w, bias, 1, -1), y1, 1e-12);
        Assert.Equal(y1.ToArray(), y2.ToArray());
        var g = Random(rng, n, o, size, size);
        var (ex, ew) = ConvReference.Adjoints(x, w, g, 1, -1);
        var gx = Ops.Conv2dInputGrad(g, w, x.Shape);
        var gw = Ops.Conv2dWeightGrad(x, g, w.Shape);
        AssertClose(ex, gx, 1e-12);
        AssertClose(ew, gw, 1e-12);
        Assert.Equal(gw.ToArray(), Ops.Conv2dWeightGrad(x, g, w.Shape).ToArray());
        Assert.Equal(gx.ToArray(), Ops.Conv2dInputGrad(g, w, x.Shape).ToArray());
    }

    [Fact]
    public void SinglePrecisionMatchesDouble()
    {
        using var scope = TensorScope.Begin();
        var rng = new Random(5);
        var x = Random(rng, 3, 5, 9, 9);
        var w = Random(rng, 6, 5, 3, 3);
        var y = ConvReference.Forward(x, w, null, 1, -1);
        var yf = Ops.Conv2d(ToFloat(x), ToFloat(w));
        var expected = y.ToArray();
        var actual = yf.ToArray();
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) < 1e-4, $"element {i}: {actual[i]} vs {expected[i]}");
    }

    public static TheoryData<int, int> DerivativeGeometries => new() { { 1, -1 }, { 2, -1 }, { 2, 0 }, { 1, 1 } };

    [Theory]
    [MemberData(nameof(DerivativeGeometries))]
    public void Conv2dDerivativesMatchFiniteDifferences(int stride, int padding)
    {
        var rng = new Random(6);
        var x = Random(rng, 2, 2, 5, 4);
        var w = Random(rng, 3, 2, 3, 2);
        var b = Random(rng, 3);
        GradCheck.Check("conv2d", v => Conv(v[0], v[1], v[2], stride, padding), x, w, b);
        GradCheck.Check("conv2d (no bias)", v => Conv(v[0], v[1], null, stride, padding), x, w);
    }

    [Theory]
    [MemberData(nameof(DerivativeGeometries))]
    public void Conv2dInputGradDerivativesMatchFiniteDifferences(int stride, int padding)
    {
        var rng = new Random(7);
        var xShape = new Shape(2, 2, 5, 4);
        var w = Random(rng, 3, 2, 3, 2);
        var g = Random(rng, Conv(Tensor<double>.Zeros(xShape), w, null, stride, padding).Shape.ToArray());
        GradCheck.Check("conv2d-input-grad", v => padding < 0
            ? Ops.Conv2dInputGrad(v[0], v[1], xShape, stride, Padding.Same)
            : Ops.Conv2dInputGrad(v[0], v[1], xShape, stride, padding), g, w);
    }

    [Theory]
    [MemberData(nameof(DerivativeGeometries))]
    public void Conv2dWeightGradDerivativesMatchFiniteDifferences(int stride, int padding)
    {
        var rng = new Random(8);
        var x = Random(rng, 2, 2, 5, 4);
        var wShape = new Shape(3, 2, 3, 2);
        var g = Random(rng, Conv(x, Tensor<double>.Zeros(wShape), null, stride, padding).Shape.ToArray());
        GradCheck.Check("conv2d-weight-grad", v => padding < 0
            ? Ops.Conv2dWeightGrad(v[0], v[1], wShape, stride, Padding.Same)
            : Ops.Conv2dWeightGrad(v[0], v[1], wShape, stride, padding), x, g);
    }

    [Fact]
    public void StackedTangentsEqualCentralDifferences()
    {
        // Three directions at once through x, w and bias, each against its own central difference.
        using var scope = TensorScope.Begin();
        var rng = new Random(9);
        var x = Random(rng, 2, 3, 5, 5);
        var w = Random(rng, 4, 3, 3, 3);
        var b = Random(rng, 4);
        var tx = Random(rng, 3, 2, 3, 5, 5);
        var tw = Random(rng, 3, 4, 3, 3, 3);
        var tb = Random(rng, 3, 4);
        var (_, tangents) = Autodiff.JvpStacked(v => [Ops.Conv2d(v[0], v[1], v[2], 2)], [x, w, b], [tx, tw, tb]);
        Assert.Equal(new Shape(3, 2, 4, 3, 3), tangents[0].Shape);
        int m = 2 * 4 * 3 * 3;
        for (int d = 0; d < 3; d++)
        {
            var fd = CentralDifference(v => Ops.Conv2d(v[0], v[1], v[2], 2), [x, w, b], [Slice(tx, d), Slice(tw, d), Slice(tb, d)]);
            AssertClose(fd, tangents[0].Span.Slice(d * m, m).ToArray(), 1e-6);
        }
    }

    [Fact]
    public void ConvNetHessianVectorProductMatchesDifferencesOfGradients()
    {
        // Two blocks conv → relu → instance norm → avg-pool, then linear → cross-entropy, on fixed images.
        using var scope = TensorScope.Begin();
        var rng = new Random(10);
        var images = Random(rng, 3, 1, 8, 8);
        int[] labels = [2, 0, 1];
        Tensor<double> Loss(Tensor<double>[] p)
        {
            var h = Block(images, p[0], p[1], p[2], p[3]);
            h = Block(h, p[4], p[5], p[6], p[7]);
            var logits = Ops.Add(Ops.MatMul(Ops.Reshape(h, 3, -1), p[8]), p[9]);
            return Ops.CrossEntropy(logits, labels);
        }
        static Tensor<double> Block(Tensor<double> x, Tensor<double> w, Tensor<double> b, Tensor<double> gamma, Tensor<double> beta)
            => Ops.AvgPool2d(Ops.InstanceNorm(Ops.Relu(Ops.Conv2d(x, w, b)), gamma, beta), 2, 2);
        Tensor<double>[] parameters =
        [
            Random(rng, 2, 1, 3, 3), Random(rng, 2), Offset(Random(rng, 2), 1), Random(rng, 2),
            Random(rng, 3, 2, 3, 3), Random(rng, 3), Offset(Random(rng, 3), 1), Random(rng, 3),
            Random(rng, 12, 3), Random(rng, 3),
        ];
        var v = parameters.Select(p => Random(rng, p.Shape.ToArray())).ToArray();
        var (gradients, hvp) = Autodiff.Jvp(ps => Autodiff.Grad(Loss, ps), parameters, v);
        var plain = Autodiff.Grad(Loss, parameters);
        for (int i = 0; i < parameters.Length; i++) AssertClose(plain[i].ToArray(), gradients[i], 1e-12);

        const double h = 1e-4;
        var plus = Autodiff.Grad(Loss, parameters.Select((p, i) => Ops.Add(p, Ops.Scale(v[i], h))).ToArray());
        var minus = Autodiff.Grad(Loss, parameters.Select((p, i) => Ops.Sub(p, Ops.Scale(v[i], h))).ToArray());
        var expected = plus.SelectMany((g, i) => g.ToArray().Zip(minus[i].ToArray(), (a, b) => (a - b) / (2 * h))).ToArray();
        var actual = hvp.SelectMany(t => t.ToArray()).ToArray();
        Assert.Contains(actual, a => Math.Abs(a) > 1e-3);
        AssertClose(expected, actual, 1e-6);
    }

    [Fact]
    public void BadShapesNameTheOpTheOperandAndTheShapes()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor<double>.Zeros(2, 3, 5, 5);
        var e = Assert.Throws<ArgumentException>(() => Ops.Conv2d(x, Tensor<double>.Zeros(4, 2, 3, 3)));
        Assert.Contains("conv2d", e.Message);
        Assert.Contains("[4, 2, 3, 3]", e.Message);
        Assert.Contains("[2, 3, 5, 5]", e.Message);
        Assert.Equal("w", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => Ops.Conv2d(Tensor<double>.Zeros(3, 5, 5), Tensor<double>.Zeros(4, 3, 3, 3)));
        Assert.Contains("x must have shape [N, C, H, W], got [3, 5, 5]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Ops.Conv2d(x, Tensor<double>.Zeros(4, 3, 3, 3), Tensor<double>.Zeros(3)));
        Assert.Contains("bias", e.Message);
        e = Assert.Throws<ArgumentException>(() => Ops.Conv2d(x, Tensor<double>.Zeros(4, 3, 7, 7), null, 1, Padding.Valid));
        Assert.Contains("does not fit", e.Message);
        e = Assert.Throws<ArgumentException>(() => Ops.Conv2d(x, Tensor<double>.Zeros(4, 3, 3, 3), null, 0));
        Assert.Contains("stride", e.Message);
        e = Assert.Throws<ArgumentException>(() => Ops.Conv2d(x, Tensor<double>.Zeros(4, 3, 3, 3), null, 1, -2));
        Assert.Contains("padding", e.Message);
        e = Assert.Throws<ArgumentException>(() => Ops.Conv2dInputGrad(Tensor<double>.Zeros(2, 4, 4, 5), Tensor<double>.Zeros(4, 3, 3, 3), x.Shape));
        Assert.Contains("conv2d-input-grad", e.Message);
        Assert.Contains("[2, 4, 5, 5]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Ops.Conv2dWeightGrad(x, Tensor<double>.Zeros(2, 4, 5, 5), new Shape(4, 2, 3, 3)));
        Assert.Contains("conv2d-weight-grad", e.Message);
        Assert.Contains("weightShape", e.Message);
    }

    [Fact]
    public void EmptyBatchesGiveEmptyOrZeroResults()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor<double>.Zeros(0, 3, 5, 5);
        var w = Tensor<double>.Full(new Shape(4, 3, 3, 3), 1.0);
        Assert.Equal(new Shape(0, 4, 5, 5), Ops.Conv2d(x, w, Tensor<double>.Zeros(4)).Shape);
        Assert.Equal(new Shape(0, 3, 5, 5), Ops.Conv2dInputGrad(Tensor<double>.Zeros(0, 4, 5, 5), w, x.Shape).Shape);
        var gw = Ops.Conv2dWeightGrad(x, Tensor<double>.Zeros(0, 4, 5, 5), w.Shape);
        Assert.All(gw.ToArray(), v => Assert.Equal(0.0, v));
    }

    [Fact]
    public void GeometryResolvesSameAndExplicitPadding()
    {
        Assert.Equal((1, 28), ConvGeometry.Resolve(28, 3, 1, ConvGeometry.SamePadding));
        Assert.Equal((0, 14), ConvGeometry.Resolve(28, 2, 2, ConvGeometry.SamePadding));
        Assert.Equal((1, 4), ConvGeometry.Resolve(7, 3, 2, ConvGeometry.SamePadding));
        Assert.Equal((2, 5), ConvGeometry.Resolve(7, 3, 2, 2));
        Assert.Equal((0, 0), ConvGeometry.Resolve(2, 3, 1, 0));
    }

    internal static Tensor<double> Conv(Tensor<double> x, Tensor<double> w, Tensor<double>? b, int stride, int padding)
        => padding < 0 ? Ops.Conv2d(x, w, b, stride, Padding.Same) : Ops.Conv2d(x, w, b, stride, padding);

    internal static Tensor<double> Random(Random rng, params int[] dims)
    {
        var shape = new Shape(dims);
        var data = new double[shape.Length];
        for (int i = 0; i < data.Length; i++) data[i] = GradCheck.Normal(rng);
        return Tensor<double>.FromSpan(data, shape);
    }

    private static Tensor<double> Offset(Tensor<double> t, double c) => Ops.AddScalar(t, c);

    private static Tensor<float> ToFloat(Tensor<double> t) => Tensor<float>.FromSpan(t.ToArray().Select(v => (float)v).ToArray(), t.Shape);

    private static Tensor<double> Slice(Tensor<double> stacked, int d)
    {
        var shape = stacked.Shape.DropFirst();
        return Tensor<double>.FromSpan(stacked.Span.Slice(d * shape.Length, shape.Length), shape);
    }

    /// <summary>(f(x + h·v) − f(x − h·v)) / 2h with h = 1e-4 (exact up to rounding for the bilinear ops here).</summary>
    internal static double[] CentralDifference(Func<Tensor<double>[], Tensor<double>> f, Tensor<double>[] x, Tensor<double>[] v)
    {
        const double h = 1e-4;
        var plus = f(x.Select((t, i) => Ops.Add(t, Ops.Scale(v[i], h))).ToArray()).ToArray();
        var minus = f(x.Select((t, i) => Ops.Sub(t, Ops.Scale(v[i], h))).ToArray()).ToArray();
        return plus.Zip(minus, (a, b) => (a - b) / (2 * h)).ToArray();
    }

    internal static void AssertClose(Tensor<double> expected, Tensor<double> actual, double relative)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        AssertClose(expected.ToArray(), actual.ToArray(), relative);
    }

    internal static void AssertClose(double[] expected, Tensor<double> actual, double relative) => AssertClose(expected, actual.ToArray(), relative);

    /// <summary>Every |actual − expected| within <paramref name="relative"/> of the larger max-norm.</summary>
    internal static void AssertClose(double[] expected, double[] actual, double relative)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = Math.Max(expected.Select(Math.Abs).DefaultIfEmpty(0).Max(), actual.Select(Math.Abs).DefaultIfEmpty(0).Max());
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= relative * scale,
                $"element {i} of {expected.Length}: {actual[i]:R} vs expected {expected[i]:R} (max-norm {scale:G3}, relative tolerance {relative:G2})");
    }
}

/// <summary>Direct loops over the definition of a (strided, padded) 2-d cross-correlation and its adjoints.</summary>
internal static class ConvReference
{
    public static Tensor<double> Forward(Tensor<double> x, Tensor<double> w, Tensor<double>? bias, int stride, int padding)
    {
        var (n, c, h, wd, o, kh, kw, top, left, ho, wo) = Dims(x.Shape, w.Shape, stride, padding);
        var y = new double[n * o * ho * wo];
        var xs = x.ToArray();
        var ws = w.ToArray();
        for (int b = 0; b < n; b++)
            for (int oc = 0; oc < o; oc++)
                for (int i = 0; i < ho; i++)
                    for (int j = 0; j < wo; j++)
                    {
                        double sum = bias?.Span[oc] ?? 0;
                        for (int ci = 0; ci < c; ci++)
                            for (int r = 0; r < kh; r++)
                                for (int s = 0; s < kw; s++)
                                {
                                    int ih = i * stride - top + r, iw = j * stride - left + s;
                                    if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
                                    sum += xs[((b * c + ci) * h + ih) * wd + iw] * ws[((oc * c + ci) * kh + r) * kw + s];
                                }
                        y[((b * o + oc) * ho + i) * wo + j] = sum;
                    }
        return Tensor<double>.FromSpan(y, new Shape(n, o, ho, wo));
    }

    /// <summary>The gradients of ⟨Forward(x, w), g⟩ with respect to x and w.</summary>
    public static (Tensor<double> X, Tensor<double> W) Adjoints(Tensor<double> x, Tensor<double> w, Tensor<double> g, int stride, int padding)
    {
        var (n, c, h, wd, o, kh, kw, top, left, ho, wo) = Dims(x.Shape, w.Shape, stride, padding);
        var gx = new double[x.Length];
        var gw = new double[w.Length];
        var xs = x.ToArray();
        var ws = w.ToArray();
        var gs = g.ToArray();
        for (int b = 0; b < n; b++)
            for (int oc = 0; oc < o; oc++)
                for (int i = 0; i < ho; i++)
                    for (int j = 0; j < wo; j++)
                    {
                        double gv = gs[((b * o + oc) * ho + i) * wo + j];
                        for (int ci = 0; ci < c; ci++)
                            for (int r = 0; r < kh; r++)
                                for (int s = 0; s < kw; s++)
                                {
                                    int ih = i * stride - top + r, iw = j * stride - left + s;
                                    if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
                                    int xi = ((b * c + ci) * h + ih) * wd + iw, wi = ((oc * c + ci) * kh + r) * kw + s;
                                    gx[xi] += gv * ws[wi];
                                    gw[wi] += gv * xs[xi];
                                }
                    }
        return (Tensor<double>.FromSpan(gx, x.Shape), Tensor<double>.FromSpan(gw, w.Shape));
    }

    private static (int N, int C, int H, int W, int O, int Kh, int Kw, int Top, int Left, int Ho, int Wo) Dims(Shape x, Shape w, int stride, int padding)
    {
        int h = x[2], wd = x[3], kh = w[2], kw = w[3];
        int top, left, ho, wo;
        if (padding < 0)
        {
            // SAME: ⌈size / stride⌉ outputs, the padding split with any odd zero at the end.
            ho = (h + stride - 1) / stride;
            wo = (wd + stride - 1) / stride;
            top = Math.Max((ho - 1) * stride + kh - h, 0) / 2;
            left = Math.Max((wo - 1) * stride + kw - wd, 0) / 2;
        }
        else
        {
            top = left = padding;
            ho = (h + 2 * padding - kh) / stride + 1;
            wo = (wd + 2 * padding - kw) / stride + 1;
        }
        return (x[0], x[1], h, wd, w[0], kh, kw, top, left, ho, wo);
    }
}
