using Bilevel.Tensors;

namespace Bilevel.Tensors.Tests;

/// <summary>
/// The memory-bound passes over stacked tangents (an optimizer-style x + α·y, slices of a flat vector and their
/// pullbacks, relu's gate, ⟨x, x⟩'s tangents and cotangent, cotangent accumulation, zeroed buffers, a convolution
/// tangent's add across swapped axes) split over the kernel threads when large. Their elements are independent, so every thread count must give the serial bits; 3
/// threads cut the passes mid-block, where a wrong run boundary would shift or skip elements.
/// </summary>
[Collection(EngineThreadCountCollection.Name)]
public class StackedPassThreadTests
{
    private const int Directions = 4;
    // Above the memory passes' parallel threshold (2¹⁸) on its own, and not a multiple of the thread counts.
    private const int Length = 3 * (1 << 17) + 7;

    [Fact]
    public void Every_thread_count_gives_the_serial_bits()
    {
        var serial = WithThreads(1, Run);
        foreach (int threads in new[] { 2, 3 })
        {
            var parallel = WithThreads(threads, Run);
            foreach (var (name, bits) in serial)
                Assert.True(bits.AsSpan().SequenceEqual(parallel[name]), $"{name}: ThreadCount {threads} differs from ThreadCount 1");
        }
    }

    [Fact]
    public void A_large_add_scaled_and_slice_hold_the_exact_values() => WithThreads(3, () =>
    {
        using var scope = TensorScope.Begin();
        var rng = new Random(5);
        var x = Tensor<double>.FromArray(KernelTests.Uniform<double>(rng, -2, 2, Directions * Length), Directions, Length);
        var y = Tensor<double>.FromArray(KernelTests.Uniform<double>(rng, -2, 2, Directions * Length), Directions, Length);
        var sum = Ops.AddScaled(x, Tensor<double>.Scalar(-0.5), y).Span;
        var slice = Ops.Slice(x, 1, 11, Length - 20).Span;
        var zeros = Tensor<double>.Zeros(Directions, Length).Span;
        var xs = x.Span;
        var ys = y.Span;
        for (int i = 0; i < xs.Length; i++)
            if (sum[i] != xs[i] + -0.5 * ys[i] && sum[i] != Math.FusedMultiplyAdd(ys[i], -0.5, xs[i]))
                Assert.Fail($"add-scaled element {i}: {sum[i]}, expected {xs[i] + -0.5 * ys[i]}");
        for (int d = 0; d < Directions; d++)
            for (int j = 0; j < Length - 20; j++)
                if (slice[d * (Length - 20) + j] != xs[d * Length + 11 + j])
                    Assert.Fail($"slice row {d} element {j}: {slice[d * (Length - 20) + j]}, expected {xs[d * Length + 11 + j]}");
        Assert.True(zeros.IndexOfAnyExcept(0.0) < 0, "a zeroed tensor of a reused buffer holds a non-zero element");
        return true;
    });

    [Fact]
    public void A_large_add_with_swapped_leading_axes_holds_the_exact_values() => WithThreads(3, () =>
    {
        // A convolution's wide-kernel tangent [N, b, ..] added into [b, N, ..]: 15 blocks, cut mid-block by 3 threads.
        const int outer = 3, middle = 5, inner = (1 << 15) + 3;
        using var scope = TensorScope.Begin();
        var rng = new Random(6);
        var source = Tensor<double>.FromArray(KernelTests.Uniform<double>(rng, -2, 2, outer * middle * inner), outer, middle, inner);
        var destination = Tensor<double>.FromArray(KernelTests.Uniform<double>(rng, -2, 2, outer * middle * inner), middle, outer, inner);
        var before = destination.ToArray();
        Bilevel.Tensors.Internal.Kernels.Blocks.AddSwapped(source.Buffer, outer, middle, inner, destination.Buffer);
        var s = source.ToArray();
        var d = destination.ToArray();
        for (int i = 0; i < outer; i++)
            for (int j = 0; j < middle; j++)
                for (int k = 0; k < inner; k++)
                {
                    int at = (j * outer + i) * inner + k;
                    if (d[at] != before[at] + s[(i * middle + j) * inner + k])
                        Assert.Fail($"block ({j}, {i}) element {k}: {d[at]}, expected {before[at] + s[(i * middle + j) * inner + k]}");
                }
        return true;
    });

    private static TResult WithThreads<TResult>(int threads, Func<TResult> body)
    {
        int saved = TensorEngine.ThreadCount;
        try
        {
            TensorEngine.ThreadCount = threads;
            return body();
        }
        finally
        {
            TensorEngine.ThreadCount = saved;
        }
    }

    private static Dictionary<string, byte[]> Run()
    {
        using var scope = TensorScope.Begin();
        var rng = new Random(17);
        var theta = Tensor<double>.FromArray(KernelTests.Uniform<double>(rng, -1, 1, Length), Length);
        var tangents = Tensor<double>.FromArray(KernelTests.Uniform<double>(rng, -1, 1, Directions * Length), Directions, Length);
        var alpha = Tensor<double>.Scalar(-0.3);
        // θ feeds a slice (through a reshape), relu, an x + α·y and ⟨θ, θ⟩, so its cotangent gathers four
        // contributions with their tangents.
        Tensor<double> Loss(Tensor<double> p)
        {
            int half = Length / 2;
            var window = Ops.Slice(Ops.Reshape(Ops.Slice(p, 0, 0, 2 * half), 2, half), 1, 5, half - 9);
            var step = Ops.AddScaled(p, alpha, Ops.Relu(p));
            return Ops.Add(Ops.Add(Ops.Sum(Ops.Mul(window, window)), Ops.Sum(Ops.Mul(step, step))), Ops.Scale(Ops.SquaredNorm(p), 0.01));
        }
        var (values, outTangents) = Autodiff.JvpStacked(p => [Ops.AddScaled(p[0], alpha, Ops.Relu(p[0])), Ops.SquaredNorm(p[0]),
            Ops.Slice(Ops.Reshape(p[0], 1, Length), 1, 3, Length - 6)], [theta], [tangents]);
        // Forward over reverse with stacked tangents: the gradient and its b Hessian-vector products.
        var (gradient, hvp) = Autodiff.JvpStacked(p => [Autodiff.Grad(q => Loss(q[0]), p[0])[0]], [theta], [tangents]);
        var results = new Dictionary<string, Tensor<double>>
        {
            ["add-scaled"] = values[0],
            ["add-scaled tangents"] = outTangents[0],
            ["squared-norm tangents"] = outTangents[1],
            ["slice tangents"] = outTangents[2],
            ["gradient"] = gradient[0],
            ["hessian-vector products"] = hvp[0],
        };
        return results.ToDictionary(r => r.Key, r => System.Runtime.InteropServices.MemoryMarshal.AsBytes(r.Value.Span).ToArray());
    }
}
