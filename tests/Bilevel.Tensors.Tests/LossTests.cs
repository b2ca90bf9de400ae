namespace Bilevel.Tensors.Tests;

public class LossTests
{
    [Fact]
    public void SoftmaxAndLogSoftmaxMatchTheDefinition()
    {
        using var scope = TensorScope.Begin();
        var x = ConvolutionTests.Random(new Random(1), 3, 4, 5);
        foreach (int axis in new[] { 0, 1, 2, -1 })
        {
            int a = axis < 0 ? axis + 3 : axis;
            var expected = new double[x.Length];
            var strides = x.Shape.Strides();
            var xs = x.ToArray();
            for (int i = 0; i < xs.Length; i++)
            {
                int start = i - (i / strides[a] % x.Shape[a]) * strides[a];
                double sum = 0;
                for (int j = 0; j < x.Shape[a]; j++) sum += Math.Exp(xs[start + j * strides[a]]);
                expected[i] = xs[i] - Math.Log(sum);
            }
            ConvolutionTests.AssertClose(expected, Ops.LogSoftmax(x, axis), 1e-14);
            ConvolutionTests.AssertClose(expected.Select(Math.Exp).ToArray(), Ops.Softmax(x, axis), 1e-14);
        }
    }

    [Fact]
    public void SoftmaxDoesNotOverflow()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor<float>.FromArray([1000f, 1000f, -1000f, 0f], 2, 2);
        Assert.Equal([0.5f, 0.5f, 0f, 1f], Ops.Softmax(x, 1).ToArray());
        Assert.Equal(-MathF.Log(2), Ops.LogSoftmax(x, 1).Span[0], 6);
    }

    [Fact]
    public void CrossEntropyMatchesTheDefinition()
    {
        using var scope = TensorScope.Begin();
        var rng = new Random(2);
        var z = ConvolutionTests.Random(rng, 4, 5);
        int[] labels = [3, 0, 4, 3];
        var weights = Tensor<double>.FromArray([0.5, 2, 1, 0], 4);
        double plain = 0, weighted = 0;
        for (int i = 0; i < 4; i++)
        {
            double lse = Math.Log(Enumerable.Range(0, 5).Sum(k => Math.Exp(z.Span[i * 5 + k])));
            double term = lse - z.Span[i * 5 + labels[i]];
            plain += term / 4;
            weighted += weights.Span[i] * term / 4;
        }
        Assert.Equal(plain, Ops.CrossEntropy(z, labels).Item(), 12);
        Assert.Equal(weighted, Ops.CrossEntropy(z, labels, weights).Item(), 12);

        // One-hot soft labels give the same loss as the indices.
        var onehot = new double[20];
        for (int i = 0; i < 4; i++) onehot[i * 5 + labels[i]] = 1;
        var y = Tensor<double>.FromArray(onehot, 4, 5);
        Assert.Equal(plain, Ops.CrossEntropy(z, y).Item(), 12);
        Assert.Equal(weighted, Ops.CrossEntropy(z, y, weights).Item(), 12);
        Assert.Equal(new Shape(), Ops.CrossEntropy(z, y).Shape);
    }

    [Fact]
    public void DerivativesMatchFiniteDifferences()
    {
        var rng = new Random(3);
        var z = ConvolutionTests.Random(rng, 3, 4);
        var weights = Tensor<double>.FromArray([0.5, 2, 1], 3);
        var soft = Ops.Softmax(ConvolutionTests.Random(rng, 3, 4), 1);
        int[] labels = [1, 3, 0];
        GradCheck.Check("log-softmax", v => Ops.LogSoftmax(v[0], 0), z);
        GradCheck.Check("softmax", v => Ops.Softmax(v[0], 1), z);
        GradCheck.Check("cross-entropy (labels)", v => Ops.CrossEntropy(v[0], labels), z);
        GradCheck.Check("cross-entropy (labels, weights)", v => Ops.CrossEntropy(v[0], labels, v[1]), z, weights);
        GradCheck.Check("cross-entropy (soft labels, weights)", v => Ops.CrossEntropy(v[0], v[1], v[2]), z, soft, weights);
    }

    [Fact]
    public void CrossEntropyGradientIsSoftmaxMinusOneHotOverN()
    {
        using var scope = TensorScope.Begin();
        var z = ConvolutionTests.Random(new Random(4), 2, 3);
        int[] labels = [2, 0];
        var g = Autodiff.Grad(v => Ops.CrossEntropy(v[0], labels), z)[0].ToArray();
        var p = Ops.Softmax(z, 1).ToArray();
        for (int i = 0; i < 2; i++)
            for (int k = 0; k < 3; k++)
                Assert.Equal((p[i * 3 + k] - (k == labels[i] ? 1 : 0)) / 2, g[i * 3 + k], 14);
    }

    [Fact]
    public void BadInputsNameTheOpAndTheOffendingValue()
    {
        using var scope = TensorScope.Begin();
        var z = Tensor<double>.Zeros(3, 4);
        var e = Assert.Throws<ArgumentException>(() => Ops.CrossEntropy(z, [1, 4, 0]));
        Assert.Contains("cross-entropy: label 4 at index 1 is outside [0, 4)", e.Message);
        e = Assert.Throws<ArgumentException>(() => Ops.CrossEntropy(z, [1, -1, 0]));
        Assert.Contains("label -1 at index 1", e.Message);
        e = Assert.Throws<ArgumentException>(() => Ops.CrossEntropy(z, [1, 2]));
        Assert.Contains("2 labels for logits [3, 4]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Ops.CrossEntropy(z, [1, 2, 3], Tensor<double>.Zeros(4)));
        Assert.Contains("sampleWeights must have shape [3]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Ops.CrossEntropy(z, Tensor<double>.Zeros(3, 5)));
        Assert.Contains("softLabels [3, 5] must have the shape of logits [3, 4]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Ops.CrossEntropy(Tensor<double>.Zeros(3), [1, 2, 3]));
        Assert.Contains("logits must have shape [N, K], got [3]", e.Message);
        Assert.Throws<ArgumentException>(() => Ops.Softmax(z, 2));
    }

    [Fact]
    public void InstanceNormNormalisesEachSampleAndChannel()
    {
        using var scope = TensorScope.Begin();
        var rng = new Random(5);
        var x = ConvolutionTests.Random(rng, 2, 3, 4, 5);
        var gamma = ConvolutionTests.Random(rng, 3);
        var beta = ConvolutionTests.Random(rng, 3);
        var y = Ops.InstanceNorm(x, gamma, beta);
        var xs = x.ToArray();
        var expected = new double[xs.Length];
        for (int p = 0; p < 6; p++)
        {
            var plane = xs.AsSpan(p * 20, 20).ToArray();
            double mean = plane.Average(), variance = plane.Select(v => (v - mean) * (v - mean)).Average();
            for (int i = 0; i < 20; i++)
                expected[p * 20 + i] = (plane[i] - mean) / Math.Sqrt(variance + 1e-5) * gamma.Span[p % 3] + beta.Span[p % 3];
        }
        ConvolutionTests.AssertClose(expected, y, 1e-14);
        GradCheck.Check("instance-norm", v => Ops.InstanceNorm(v[0], v[1], v[2]), x, gamma, beta);
        GradCheck.Check("instance-norm (no affine)", v => Ops.InstanceNorm(v[0]), x);
        GradCheck.Check("instance-norm (in gamma and beta only)", v => Ops.InstanceNorm(x, v[0], v[1]), gamma, beta);
        GradCheck.Check("instance-norm (gamma only)", v => Ops.InstanceNorm(v[0], v[1]), x, gamma);
        GradCheck.Check("instance-norm (beta only)", v => Ops.InstanceNorm(v[0], null, v[1]), x, beta);
        // Composed with a smooth function of its input, so that the Hessian mixes both paths through x.
        GradCheck.Check("instance-norm (times x)", v => Ops.Mul(Ops.InstanceNorm(v[0], v[1], v[2]), v[0]), x, gamma, beta);
        var e = Assert.Throws<ArgumentException>(() => Ops.InstanceNorm(x, Tensor<double>.Zeros(4)));
        Assert.Contains("instance-norm: gamma must have shape [3]", e.Message);
    }

    [Fact]
    public void InstanceNormJacobianDerivativesMatchFiniteDifferences()
    {
        // The pullback of the normalisation as a function of all three of its arguments: its tangent rule is what
        // Jvp over Grad runs; its own pullback completes the primitive.
        var rng = new Random(6);
        var xhat = ConvolutionTests.Random(rng, 2, 2, 3, 3);
        var r = Ops.AddScalar(Ops.Scale(ConvolutionTests.Random(rng, 2, 2, 1, 1), 0.1), 1.0);
        var v = ConvolutionTests.Random(rng, 2, 2, 3, 3);
        GradCheck.Check("instance-norm-jacobian", a => Ops.InstanceNormJacobian(a[0], a[1], a[2]), xhat, r, v);
        GradCheck.Check("instance-norm-jacobian (in r and v)", a => Ops.InstanceNormJacobian(xhat, a[0], a[1]), r, v);
        GradCheck.Check("instance-norm-jacobian (in x̂)", a => Ops.InstanceNormJacobian(a[0], r, v), xhat);
    }

    [Fact]
    public void ChannelSumsMatchLoopsAndTheirDerivativesMatchFiniteDifferences()
    {
        using var scope = TensorScope.Begin();
        var rng = new Random(7);
        var g = ConvolutionTests.Random(rng, 2, 3, 2, 3);
        var xhat = ConvolutionTests.Random(rng, 2, 3, 2, 3);
        var expected = new double[6];
        for (int i = 0; i < g.Length; i++)
        {
            int channel = i / 6 % 3;
            expected[channel] += g.Span[i] * xhat.Span[i];
            expected[3 + channel] += g.Span[i];
        }
        ConvolutionTests.AssertClose(expected, Ops.ChannelSums(g, xhat), 1e-14);
        GradCheck.Check("channel-sums", v => Ops.ChannelSums(v[0], v[1]), g, xhat);
        GradCheck.Check("channel-sums (in g)", v => Ops.ChannelSums(v[0], xhat), g);
        GradCheck.Check("channel-sums (in x̂)", v => Ops.ChannelSums(g, v[0]), xhat);
    }

    [Fact]
    public void ChannelSumsTangentsDoNotDependOnTheThreadCount()
    {
        // 96 channels of 2 × 64 elements and 4 directions: 32 channels to a thread, so three threads split them.
        using var scope = TensorScope.Begin();
        var rng = new Random(8);
        var g = ConvolutionTests.Random(rng, 2, 96, 8, 8);
        var xhat = ConvolutionTests.Random(rng, 2, 96, 8, 8);
        var tg = ConvolutionTests.Random(rng, 4, 2, 96, 8, 8);
        var tx = ConvolutionTests.Random(rng, 4, 2, 96, 8, 8);
        double[] Tangents(int threads)
        {
            using var limit = TensorEngine.LimitThreads(threads);
            return Autodiff.JvpStacked(v => [Ops.ChannelSums(v[0], v[1])], [g, xhat], [tg, tx]).Tangents[0].ToArray();
        }
        var serial = Tangents(1);
        Assert.Equal(serial, Tangents(3));
        // Direction 2, channel 50: Σ ġ·x̂ + g·ẋ̂, and Σ ġ.
        double product = 0, sum = 0;
        for (int i = 0; i < 2; i++)
            for (int k = 0; k < 64; k++)
            {
                int at = (i * 96 + 50) * 64 + k, stacked = 2 * g.Length + at;
                product += tg.Span[stacked] * xhat.Span[at] + g.Span[at] * tx.Span[stacked];
                sum += tg.Span[stacked];
            }
        Assert.Equal(product, serial[(2 * 2) * 96 + 50], 1e-12);
        Assert.Equal(sum, serial[(2 * 2 + 1) * 96 + 50], 1e-12);
    }

    [Fact]
    public void InstanceNormIsFlatAndFiniteOnAConstantPlane()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor<double>.Full(new Shape(1, 2, 3, 3), 4.0);
        var y = Ops.InstanceNorm(x);
        Assert.All(y.ToArray(), v => Assert.Equal(0.0, v));
        var g = Autodiff.Grad(a => Ops.Sum(Ops.Mul(Ops.InstanceNorm(a[0]), a[0])), x)[0];
        Assert.All(g.ToArray(), v => Assert.True(double.IsFinite(v)));
    }
}
