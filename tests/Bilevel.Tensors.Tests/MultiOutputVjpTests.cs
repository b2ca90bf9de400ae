namespace Bilevel.Tensors.Tests;

/// <summary>
/// Reverse mode seeded at several outputs at once (a state of several tensors pulled back along its adjoint), and the
/// structural dependence query: both against the plain gradient of the equivalent scalar function.
/// </summary>
public class MultiOutputVjpTests
{
    private static Tensor<double> Vector(Random random, int n) => Tensor<double>.FromArray(Enumerable.Range(0, n).Select(_ => random.NextDouble() * 2 - 1).ToArray(), n);

    /// <summary>A momentum-like update: m' = 0.9·m + tanh(x)·y, x' = x − 0.1·m'; m' is an output and also feeds x'.</summary>
    private static Tensor<double>[] Update(Tensor<double>[] a)
    {
        var m = Ops.AddScaled(Ops.Mul(Ops.Tanh(a[0]), a[2]), Tensor<double>.Scalar(0.9), a[1]);
        return [Ops.AddScaled(a[0], Tensor<double>.Scalar(-0.1), m), m];
    }

    [Fact]
    public void Seeding_every_output_equals_the_gradient_of_the_summed_inner_products()
    {
        var random = new Random(5);
        using var scope = TensorScope.Begin();
        Tensor<double>[] inputs = [Vector(random, 7), Vector(random, 7), Vector(random, 7)];
        Tensor<double>[] seeds = [Vector(random, 7), Vector(random, 7)];
        var seedCopies = seeds.Select(s => s.Span.ToArray()).ToArray();

        var (values, cotangents) = Autodiff.Vjp(Update, inputs, seeds);
        var expected = Autodiff.Grad(a =>
        {
            var y = Update(a);
            return Ops.Add(Ops.Sum(Ops.Mul(y[0], seeds[0])), Ops.Sum(Ops.Mul(y[1], seeds[1])));
        }, inputs);

        for (int j = 0; j < inputs.Length; j++)
            for (int i = 0; i < 7; i++)
                Assert.Equal(expected[j].Span[i], cotangents[j].Span[i], 14);
        Assert.Equal(Update(inputs)[0].Span.ToArray(), values[0].Span.ToArray());
        // The seeds entered as aliases: the caller's tensors are neither released nor written.
        for (int s = 0; s < seeds.Length; s++)
            Assert.Equal(seedCopies[s], seeds[s].Span.ToArray());
    }

    [Fact]
    public void An_output_listed_twice_gets_both_seeds()
    {
        var random = new Random(6);
        using var scope = TensorScope.Begin();
        var x = Vector(random, 5);
        var (a, b) = (Vector(random, 5), Vector(random, 5));
        var (_, cotangents) = Autodiff.Vjp(v => { var y = Ops.Tanh(v[0]); return [y, y]; }, [x], [a, b]);
        var expected = Autodiff.Grad(v => Ops.Sum(Ops.Mul(Ops.Tanh(v[0]), Ops.Add(a, b))), x)[0];
        for (int i = 0; i < 5; i++)
            Assert.Equal(expected.Span[i], cotangents[0].Span[i], 14);
    }

    [Fact]
    public void Each_pass_over_one_recording_equals_a_vjp_of_its_own()
    {
        // m' is an output and feeds x', so its cotangent is a sum: the first pass adds into a buffer the tape took
        // for it, and a later pass must not take that node's new cotangent (a pullback's result) for such a buffer.
        var random = new Random(7);
        using var scope = TensorScope.Begin();
        Tensor<double>[] inputs = [Vector(random, 7), Vector(random, 7), Vector(random, 7)];
        var seedSets = Enumerable.Range(0, 3).Select(_ => new[] { Vector(random, 7), Vector(random, 7) }).ToArray();
        var received = new List<double[][]>();

        var values = Autodiff.VjpEach(Update, inputs, _ => seedSets, cotangents => received.Add(cotangents.Select(c => c.Span.ToArray()).ToArray()));

        Assert.Equal(seedSets.Length, received.Count);
        for (int pass = 0; pass < seedSets.Length; pass++)
        {
            var (_, expected) = Autodiff.Vjp(Update, inputs, seedSets[pass]);
            for (int j = 0; j < inputs.Length; j++)
                for (int i = 0; i < 7; i++)
                    Assert.Equal(expected[j].Span[i], received[pass][j][i], 14);
        }
        // No pass wrote into a forward value.
        var fresh = Update(inputs);
        for (int o = 0; o < fresh.Length; o++)
            Assert.Equal(fresh[o].Span.ToArray(), values[o].Span.ToArray());
    }

    [Fact]
    public void Passes_into_windows_of_a_flat_input_start_from_zero_each_time()
    {
        // A weight and a bias as windows of one flat vector: their pullbacks add into the flat vector's cotangent in
        // place (a buffer the tape owns); each pass must start that buffer afresh.
        var random = new Random(8);
        using var scope = TensorScope.Begin();
        var x = Tensor<double>.FromArray(Enumerable.Range(0, 15).Select(_ => random.NextDouble() - 0.5).ToArray(), 5, 3);
        var theta = Vector(random, 16);
        Tensor<double>[] Layer(Tensor<double>[] p)
        {
            var w = Ops.Reshape(Ops.Slice(p[0], 0, 0, 12), 3, 4);
            var b = Ops.Slice(p[0], 0, 12, 4);
            return [Ops.Tanh(Ops.Add(Ops.MatMul(x, w), b))];
        }
        var seeds = Enumerable.Range(0, 4)
            .Select(_ => new[] { Tensor<double>.FromArray(Enumerable.Range(0, 20).Select(_ => random.NextDouble() - 0.5).ToArray(), 5, 4) }).ToArray();
        var received = new List<double[]>();

        Autodiff.VjpEach(Layer, [theta], _ => seeds, cotangents => received.Add(cotangents[0].Span.ToArray()));

        for (int pass = 0; pass < seeds.Length; pass++)
        {
            var expected = Autodiff.Vjp(Layer, [theta], seeds[pass]).Cotangents[0];
            for (int i = 0; i < 16; i++)
                Assert.Equal(expected.Span[i], received[pass][i], 14);
        }
    }

    [Fact]
    public void A_pass_with_a_cotangent_of_the_wrong_shape_is_refused()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor<double>.Zeros(new Shape(3));
        var error = Assert.Throws<ArgumentException>(() =>
            Autodiff.VjpEach(v => [Ops.Tanh(v[0])], [x], _ => new[] { new[] { Tensor<double>.Zeros(new Shape(4)) } }, _ => { }));
        Assert.Contains("cotangent shape [4]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cotangent_of_the_wrong_shape_or_count_is_refused_naming_the_output()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor<double>.Zeros(new Shape(3));
        var wrongShape = Assert.Throws<ArgumentException>(() => Autodiff.Vjp(v => [v[0], Ops.Sum(v[0])], [x], [x, x]));
        Assert.Contains("cotangent 1 shape [3]", wrongShape.Message, StringComparison.Ordinal);
        var wrongCount = Assert.Throws<ArgumentException>(() => Autodiff.Vjp(v => [v[0], v[0]], [x], [x]));
        Assert.Contains("1 cotangents for 2 outputs", wrongCount.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Dependence_is_structural_a_zero_derivative_still_depends()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor<double>.FromArray([1.5], 1);
        var constant = Tensor<double>.Scalar(0.1);
        Assert.True(Autodiff.DependsOn(v => Ops.Exp(v), x));
        Assert.True(Autodiff.DependsOn(v => Ops.Mul(v, Tensor<double>.Scalar(0.0)), x));
        Assert.False(Autodiff.DependsOn(_ => constant, x));
        Assert.False(Autodiff.DependsOn(_ => Ops.Exp(constant), x));
    }

    [Fact]
    public void A_black_box_sees_whether_it_is_differentiated_in_either_mode()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor<double>.FromArray([1.5], 1);
        var other = Tensor<double>.FromArray([2.0], 1);
        bool reverse = false, reverseOther = true, forward = false;
        Assert.False(Autodiff.IsDifferentiated(x));
        Autodiff.Grad(v => { reverse = Autodiff.IsDifferentiated(v[0]); reverseOther = Autodiff.IsDifferentiated(other); return Ops.Sum(v[0]); }, x);
        Autodiff.Jvp(v => { forward = Autodiff.IsDifferentiated(v[0]); return Ops.Sum(v[0]); }, [x], [x]);
        Assert.True(reverse);
        Assert.False(reverseOther);
        Assert.True(forward);
        Assert.False(Autodiff.IsDifferentiated(x));
    }
}
