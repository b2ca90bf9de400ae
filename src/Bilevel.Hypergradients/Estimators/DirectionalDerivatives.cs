using System.Numerics;
using Bilevel.Tensors;

namespace Bilevel.Hypergradients.Estimators;

/// <summary>
/// d_i = ∇h(φ)·v_i for the rows v_i of a direction matrix, by forward unrolling: one primal inner trajectory carries
/// a chunk of stacked tangents z_t = (∂Φ_t/∂s) z_{t−1} + (∂Φ_t/∂φ) v_i (z₀ = 0 since θ₀ does not depend on φ), and
/// the outer loss's tangent is ∂f/∂θ·z_T + ∂f/∂φ·v_i. Chunks are independent: they run on separate threads, or one
/// after another when memory is short, and are assembled in a fixed order so the result does not depend on timing.
/// </summary>
internal static class DirectionalDerivatives
{
    public static (double[] Derivatives, double Value) Compute<T>(IBilevelProblem<T> problem, Tensor<T> phi, long outerStep, Tensor<T> directions, int chunkSize, int threads)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int count = directions.Shape[0];
        int chunks = (count + chunkSize - 1) / chunkSize;
        var derivatives = new double[count];
        var values = new double[chunks];
        void RunChunk(int c)
        {
            int start = c * chunkSize, length = Math.Min(chunkSize, count - start);
            using var scope = TensorScope.Begin();
            var tangents = Ops.Slice(directions, 0, start, length);
            var (outputs, outTangents) = Autodiff.JvpStacked(p => [InnerDynamics.OuterObjective(problem, p[0], outerStep)], [phi], [tangents]);
            values[c] = outputs[0].ItemAsDouble();
            var d = outTangents[0].Span;
            for (int i = 0; i < length; i++) derivatives[start + i] = double.CreateChecked(d[i]);
        }
        // Side by side, each chunk's kernels run on its share of the engine's threads: the parallelism is across chunks.
        TensorEngine.RunSideBySide(chunks, threads, RunChunk);
        return (derivatives, values[0]);
    }

    /// <summary>Σ_i w·d_i v_i as a [N] tensor: the estimate, for weight w = 1/b (FG²U) or 1 (FGU's unit directions).</summary>
    public static Tensor<T> Combine<T>(double[] derivatives, Tensor<T> directions, double weight) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var d = Tensor<T>.FromSpan(derivatives.Select(x => T.CreateChecked(x * weight)).ToArray(), new Shape(1, derivatives.Length));
        return Ops.Reshape(Ops.MatMul(d, directions), directions.Shape[1]);
    }
}
