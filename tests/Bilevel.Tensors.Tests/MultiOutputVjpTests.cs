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
