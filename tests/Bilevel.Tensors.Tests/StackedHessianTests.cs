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
}
