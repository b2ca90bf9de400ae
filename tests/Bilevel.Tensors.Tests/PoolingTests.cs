namespace Bilevel.Tensors.Tests;

public class PoolingTests
{
    /// <summary>N, C, H, W, kernel, stride.</summary>
    public static TheoryData<int, int, int, int, int, int> Geometries => new()
    {
        { 2, 3, 6, 6, 2, 2 },
        { 2, 2, 7, 5, 2, 2 },  // odd sizes: the last row and column are in no window
        { 1, 2, 7, 7, 3, 2 },  // overlapping windows
        { 2, 1, 5, 6, 3, 1 },
        { 1, 3, 6, 7, 3, 3 },
        { 1, 1, 4, 4, 1, 1 },
    };

    [Theory]
    [MemberData(nameof(Geometries))]
    public void ForwardMatchesNaiveLoops(int n, int c, int h, int w, int k, int s)
    {
        using var scope = TensorScope.Begin();
        var x = ConvolutionTests.Random(new Random(1), n, c, h, w);
        var (avg, max, _) = Reference(x, k, s);
        ConvolutionTests.AssertClose(avg, Ops.AvgPool2d(x, k, s), 1e-15);
        Assert.Equal(max.ToArray(), Ops.MaxPool2d(x, k, s).ToArray());
        Assert.Equal(max.Shape, Ops.MaxPool2d(x, k, s).Shape);
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void BackwardOpsAreTheAdjointsOfTheForwardOps(int n, int c, int h, int w, int k, int s)
    {
        using var scope = TensorScope.Begin();
        var rng = new Random(2);
        var x = ConvolutionTests.Random(rng, n, c, h, w);
        var (avg, _, argmax) = Reference(x, k, s);
        var g = ConvolutionTests.Random(rng, avg.Shape.ToArray());
        var expectedAvg = new double[x.Length];
        var expectedMax = new double[x.Length];
        int ho = avg.Shape[2], wo = avg.Shape[3];
        for (int p = 0; p < n * c; p++)
            for (int i = 0; i < ho; i++)
                for (int j = 0; j < wo; j++)
                {
                    int o = (p * ho + i) * wo + j;
                    for (int r = 0; r < k; r++)
                        for (int q = 0; q < k; q++)
                            expectedAvg[(p * h + i * s + r) * w + j * s + q] += g.Span[o] / (k * k);
                    expectedMax[argmax[o]] += g.Span[o];
                }
        ConvolutionTests.AssertClose(expectedAvg, Ops.AvgPool2dBackward(g, x.Shape, k, s), 1e-15);
        var (_, cotangents) = Autodiff.Vjp(v => Ops.MaxPool2d(v[0], k, s), [x], g);
        Assert.Equal(expectedMax, cotangents[0].ToArray());
    }

    [Fact]
    public void FloorOutputSizeTakes28To14To7To3()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor<float>.Zeros(2, 3, 28, 28);
        var a = Ops.AvgPool2d(x, 2);
        var b = Ops.AvgPool2d(a, 2, 2);
        var c = Ops.MaxPool2d(b, 2, 2);
        Assert.Equal(new Shape(2, 3, 14, 14), a.Shape);
        Assert.Equal(new Shape(2, 3, 7, 7), b.Shape);
        Assert.Equal(new Shape(2, 3, 3, 3), c.Shape);
    }

    [Theory]
    [InlineData(2, 2)]
    [InlineData(3, 2)]
    public void AvgPoolDerivativesMatchFiniteDifferences(int k, int s)
    {
        var rng = new Random(3);
        GradCheck.Check("avg-pool2d", v => Ops.AvgPool2d(v[0], k, s), ConvolutionTests.Random(rng, 2, 2, 7, 6));
        var inputShape = new Shape(2, 2, 7, 6);
        var g = ConvolutionTests.Random(rng, 2, 2, (7 - k) / s + 1, (6 - k) / s + 1);
        GradCheck.Check("avg-pool2d-backward", v => Ops.AvgPool2dBackward(v[0], inputShape, k, s), g);
    }

    [Theory]
    [InlineData(2, 2)]
    [InlineData(3, 2)]
    public void MaxPoolDerivativesMatchFiniteDifferences(int k, int s)
    {
        // Distinct values 0.1 apart: the finite-difference steps never change which element is the maximum.
        var rng = new Random(4);
        var shape = new Shape(2, 2, 7, 6);
        var values = Enumerable.Range(0, shape.Length).Select(i => 0.1 * i).OrderBy(_ => rng.Next()).ToArray();
        GradCheck.Check("max-pool2d", v => Ops.MaxPool2d(v[0], k, s), Tensor<double>.FromSpan(values, shape));
        // Composed with a smooth function, so that the second derivative through the gather/scatter pair is not zero.
        GradCheck.Check("max-pool2d (squared)", v => { var y = Ops.MaxPool2d(v[0], k, s); return Ops.Mul(y, y); }, Tensor<double>.FromSpan(values, shape));
    }

    [Fact]
    public void MaxPoolStackedTangentsGatherEachDirection()
    {
        using var scope = TensorScope.Begin();
        var rng = new Random(5);
        var x = ConvolutionTests.Random(rng, 2, 2, 5, 5);
        var t = ConvolutionTests.Random(rng, 3, 2, 2, 5, 5);
        var (_, tangents) = Autodiff.JvpStacked(v => [Ops.MaxPool2d(v[0], 2, 2)], [x], [t]);
        var (_, _, argmax) = Reference(x, 2, 2);
        Assert.Equal(new Shape(3, 2, 2, 2, 2), tangents[0].Shape);
        for (int d = 0; d < 3; d++)
            for (int m = 0; m < argmax.Length; m++)
                Assert.Equal(t.Span[d * x.Length + argmax[m]], tangents[0].Span[d * argmax.Length + m]);
    }

    [Fact]
    public void MaxPoolTiesGoToTheFirstElement()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor<double>.Full(new Shape(1, 1, 2, 2), 3.0);
        var g = Autodiff.Grad(v => Ops.Sum(Ops.MaxPool2d(v[0], 2)), x)[0];
        Assert.Equal([1.0, 0, 0, 0], g.ToArray());
        var y = Tensor<double>.FromArray([1.0, 5, 5, 2], 1, 1, 2, 2);
        Assert.Equal([0.0, 1, 0, 0], Autodiff.Grad(v => Ops.Sum(Ops.MaxPool2d(v[0], 2)), y)[0].ToArray());
    }

    [Fact]
    public void BadShapesNameTheOpTheOperandAndTheShapes()
    {
        using var scope = TensorScope.Begin();
        var e = Assert.Throws<ArgumentException>(() => Ops.AvgPool2d(Tensor<double>.Zeros(3, 5, 5), 2));
        Assert.Contains("avg-pool2d: x must have shape [N, C, H, W], got [3, 5, 5]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Ops.MaxPool2d(Tensor<double>.Zeros(1, 1, 2, 5), 3));
        Assert.Contains("max-pool2d", e.Message);
        Assert.Contains("[1, 1, 2, 5]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Ops.AvgPool2d(Tensor<double>.Zeros(1, 1, 4, 4), 2, 0));
        Assert.Contains("stride", e.Message);
        e = Assert.Throws<ArgumentException>(() => Ops.AvgPool2dBackward(Tensor<double>.Zeros(1, 1, 3, 3), new Shape(1, 1, 4, 4), 2));
        Assert.Contains("avg-pool2d-backward", e.Message);
        Assert.Contains("[1, 1, 2, 2]", e.Message);
        Assert.Contains("[1, 1, 3, 3]", e.Message);
    }

    /// <summary>Average, maximum and the flat position of each maximum (first on ties), by direct loops.</summary>
    private static (Tensor<double> Avg, Tensor<double> Max, int[] Argmax) Reference(Tensor<double> x, int k, int s)
    {
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        int ho = (h - k) / s + 1, wo = (w - k) / s + 1;
        var xs = x.ToArray();
        var avg = new double[n * c * ho * wo];
        var max = new double[avg.Length];
        var argmax = new int[avg.Length];
        for (int p = 0; p < n * c; p++)
            for (int i = 0; i < ho; i++)
                for (int j = 0; j < wo; j++)
                {
                    int o = (p * ho + i) * wo + j;
                    double sum = 0;
                    int best = -1;
                    for (int r = 0; r < k; r++)
                        for (int q = 0; q < k; q++)
                        {
                            int at = (p * h + i * s + r) * w + j * s + q;
                            sum += xs[at];
                            if (best < 0 || xs[at] > xs[best]) best = at;
                        }
                    avg[o] = sum / (k * k);
                    max[o] = xs[best];
                    argmax[o] = best;
                }
        var shape = new Shape(n, c, ho, wo);
        return (Tensor<double>.FromSpan(avg, shape), Tensor<double>.FromSpan(max, shape), argmax);
    }
}
