namespace Bilevel.Tensors.Tests;

/// <summary>
/// The gradient of a function of the blocks of one flat vector (how every model reads its parameters) must not
/// allocate a vector-sized cotangent per block: the slices' cotangents are added into one buffer.
/// </summary>
[Collection(ProcessMemoryCollection.Name)]
public class CotangentMemoryTests
{
    [Fact]
    public void Gradient_over_many_blocks_of_a_flat_vector_allocates_a_bounded_number_of_vector_sized_buffers()
    {
        const int blocks = 16, blockLength = 4096, length = blocks * blockLength;
        var x = Tensor<double>.FromArray(Enumerable.Range(0, length).Select(i => Math.Sin(i)).ToArray(), length);
        Tensor<double> F(Tensor<double>[] p)
        {
            var sum = Ops.SquaredNorm(p[0]);
            for (int b = 0; b < blocks; b++) sum = Ops.Add(sum, Ops.Sum(Ops.Exp(Ops.Slice(p[0], 0, b * blockLength, blockLength))));
            return sum;
        }

        using var scope = TensorScope.Begin();
        long before = TensorMemory.LiveBytes;
        TensorMemory.ResetPeak();
        var gradient = Autodiff.Grad(F, x)[0];
        double vectors = (TensorMemory.PeakBytes - before) / (double)(length * sizeof(double));

        // Forward: the exps of the slices (1 vector; the slices are views); backward: the exps' products and sums'
        // broadcasts (2 vectors) and the one buffer the blocks and the norm are added into (1 vector). A cotangent
        // per block would be 16 more.
        Assert.InRange(vectors, 0, 5);
        for (int i = 0; i < length; i += 997) Assert.Equal(2 * x.Span[i] + Math.Exp(x.Span[i]), gradient.Span[i], 12);
    }

    [Fact]
    public void A_slice_along_the_leading_axis_is_a_view_that_outlives_its_input()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor<double>.FromArray(Enumerable.Range(0, 4 * 1000).Select(i => (double)i).ToArray(), 4, 1000);
        long before = TensorMemory.LiveBytes;
        var rows = Ops.Slice(x, 0, 1, 2);
        var inner = Ops.Slice(rows, 0, 1, 1);
        Assert.Equal(before, TensorMemory.LiveBytes);
        x.Dispose();
        Assert.Equal(2000.0, inner.Span[0]);
        Assert.Equal(2999.0, inner.Span[^1]);
        Assert.Equal(1000.0, rows.Span[0]);
        var columns = Ops.Slice(rows, 1, 10, 5);
        Assert.Equal(new[] { 1010.0, 1011, 1012, 1013, 1014, 2010, 2011, 2012, 2013, 2014 }, columns.ToArray());
    }

    [Fact]
    public void Backward_pass_releases_each_cotangent_once_consumed_so_a_deep_chain_peaks_near_its_forward_values()
    {
        const int depth = 40, length = 8192;
        var x = Tensor<double>.FromArray(Enumerable.Range(0, length).Select(i => 0.5 * Math.Sin(i)).ToArray(), length);
        Tensor<double> F(Tensor<double>[] p)
        {
            var h = p[0];
            for (int d = 0; d < depth; d++) h = Ops.Tanh(Ops.Add(Ops.Mul(h, h), p[0]));
            return Ops.Sum(h);
        }

        using var scope = TensorScope.Begin();
        long before = TensorMemory.LiveBytes;
        TensorMemory.ResetPeak();
        F([x]);
        double forward = (TensorMemory.PeakBytes - before) / (double)(length * sizeof(double));
        TensorMemory.ResetPeak();
        long afterForward = TensorMemory.LiveBytes;
        var gradient = Autodiff.Grad(F, x)[0];
        double gradientPeak = (TensorMemory.PeakBytes - afterForward) / (double)(length * sizeof(double));

        // The forward pass keeps 3 vectors per layer; a backward pass that kept its temporaries would add several per
        // layer more, one that releases them only the few cotangents alive at a time.
        Assert.InRange(gradientPeak, 0, forward + 10);
        Assert.True(gradient.Span.ToArray().All(double.IsFinite));
    }
}
