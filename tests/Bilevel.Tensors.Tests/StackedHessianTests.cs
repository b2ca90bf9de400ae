namespace Bilevel.Tensors.Tests;

/// <summary>
/// Hessian-vector products along several stacked tangents at once equal those taken one tangent at a time, for a
/// model that reads its weights as windows of one flat vector (where each weight's gradient and its tangents are
/// added by the GEMM straight into the vector's cotangent).
/// </summary>
public class StackedHessianTests
{
    [Fact]
    public void Stacked_Hessian_vector_products_through_weight_windows_equal_one_at_a_time()
    {
        const int inputs = 6, hidden = 5, outputs = 3, batch = 4, directions = 3;
        int length = inputs * hidden + hidden * outputs;
        var random = new Random(11);
        double[] Values(int n) => Enumerable.Range(0, n).Select(_ => random.NextDouble() * 2 - 1).ToArray();
        var x = Tensor<double>.FromArray(Values(batch * inputs), batch, inputs);
        var theta = Tensor<double>.FromArray(Values(length), length);
        var v = Tensor<double>.FromArray(Values(directions * length), directions, length);
        Tensor<double> Loss(Tensor<double> p)
        {
            var w1 = Ops.Reshape(Ops.Slice(p, 0, 0, inputs * hidden), inputs, hidden);
            var w2 = Ops.Reshape(Ops.Slice(p, 0, inputs * hidden, hidden * outputs), outputs, hidden);
            var h = Ops.Tanh(Ops.MatMul(x, w1));
            return Ops.Add(Ops.Sum(Ops.Mul(Ops.MatMul(h, w2, transposeB: true), Ops.MatMul(h, w2, transposeB: true))), Ops.SquaredNorm(p));
        }

        using var scope = TensorScope.Begin();
        var (_, stacked) = Autodiff.JvpStacked(p => Autodiff.Grad(q => Loss(q[0]), p), [theta], [v]);
        // Without the gradient's values (the weights' Xᵀ·G skipped), the products are the same.
        var withoutGradient = Autodiff.HessianVectorProducts(q => Loss(q[0]), [theta], [Ops.Reshape(Ops.Slice(v, 0, 1, 1), length)])[0];
        for (int i = 0; i < length; i++)
            Assert.Equal(stacked[0].Span[length + i], withoutGradient.Span[i], 12);
        for (int d = 0; d < directions; d++)
        {
            var vd = Ops.Slice(v, 0, d, 1);
            var (_, single) = Autodiff.JvpStacked(p => Autodiff.Grad(q => Loss(q[0]), p), [theta], [vd]);
            for (int i = 0; i < length; i++)
                Assert.Equal(single[0].Span[i], stacked[0].Span[d * length + i], 12);
        }
    }
    [Fact]
    public void Hessian_vector_products_through_a_convolution_skip_only_values()
    {
        // The weights are windows of θ and the image an input of its own: their cotangents' values go unread, so the
        // convolutions' weight and image gradients are skipped, and the products must not change.
        const int channels = 2, outputs = 3, size = 5, batch = 2;
        int weights = outputs * channels * 9, second = outputs * outputs * 9;
        var random = new Random(12);
        double[] Values(int n) => Enumerable.Range(0, n).Select(_ => random.NextDouble() * 2 - 1).ToArray();
        var theta = Tensor<double>.FromArray(Values(weights + outputs + second), weights + outputs + second);
        var image = Tensor<double>.FromArray(Values(batch * channels * size * size), batch, channels, size, size);
        var (v, u) = (Tensor<double>.FromArray(Values(theta.Length), theta.Length), Tensor<double>.FromArray(Values(image.Length), image.Shape.Dims.ToArray()));
        Tensor<double> Loss(Tensor<double>[] q)
        {
            var w = Ops.Reshape(Ops.Slice(q[0], 0, 0, weights), outputs, channels, 3, 3);
            var bias = Ops.Slice(q[0], 0, weights, outputs);
            var w2 = Ops.Reshape(Ops.Slice(q[0], 0, weights + outputs, second), outputs, outputs, 3, 3);
            // A second layer, whose input is no leaf: its cotangent's values are needed for the first layer's tangents.
            var y = Ops.Tanh(Ops.Conv2d(Ops.Tanh(Ops.Conv2d(q[1], w, bias)), w2));
            return Ops.Add(Ops.Sum(Ops.Mul(y, y)), Ops.SquaredNorm(q[1]));
        }

        using var scope = TensorScope.Begin();
        var (_, expected) = Autodiff.Jvp(p => Autodiff.Grad(Loss, p), [theta, image], [v, u]);
        var products = Autodiff.HessianVectorProducts(Loss, [theta, image], [v, u]);
        for (int j = 0; j < 2; j++)
            for (int i = 0; i < expected[j].Length; i++)
                Assert.Equal(expected[j].Span[i], products[j].Span[i], 12);
    }
}
