using System.Numerics;
using Bilevel.Tensors;

namespace Bilevel.Hypergradients.Estimators;

/// <summary>
/// d_i = ∇h(φ)·v_i for the rows v_i of a direction matrix: forward through the unroll, reverse for the outer loss.
/// One primal inner trajectory carries a chunk of stacked tangents z_t = (∂Φ_t/∂s) z_{t−1} + (∂Φ_t/∂φ) v_i
/// (z₀ = 0 since θ₀ does not depend on φ) to θ_T, and then d_i = ∂f/∂θ·z_T + ∂f/∂φ·v_i with f's gradient taken once
/// by reverse mode: pushing the b tangents through f instead would cost b forward passes over the outer batch, which
/// for hypercleaning's 1000 validation examples is 10 inner steps' worth of work per direction.
/// Chunks are independent: they run on separate threads (computing their common primal products once between them),
/// or one after another when memory is short, and are assembled in a fixed order so the result does not depend on timing.
/// </summary>
internal static class DirectionalDerivatives
{
    public static (double[] Derivatives, double Value) Compute<T>(IBilevelProblem<T> problem, Tensor<T> phi, long outerStep, Tensor<T> directions, int chunkSize, int threads)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int count = directions.Shape[0];
        int chunks = (count + chunkSize - 1) / chunkSize;
        var derivatives = new double[count];
        // Chunks run in rounds of as many as run side by side, sharing their primal products; each round's θ_T and
        // z_T live until projected, so no more than one round's z_T is alive at once. f's gradient needs θ_T, so it
        // is taken after the first round (on all threads), once.
        (double Value, Tensor<T> DTheta, Tensor<T> DPhi)? outer = null;
        using var scope = TensorScope.Begin();
        for (int first = 0; first < chunks; first += threads)
        {
            int round = Math.Min(threads, chunks - first);
            var ends = new Tensor<T>?[round];
            try
            {
                TensorEngine.RunSharingPrimal(round, threads, i => ends[i] = Unroll(problem, phi, outerStep, directions, first + i, chunkSize));
                outer ??= OuterGradient.Of(problem, Ops.Detach(ends[0]!), phi, outerStep);
                for (int i = 0; i < round; i++)
                    Project(ends[i]!.Tangent, outer.Value.DTheta, outer.Value.DPhi, directions, first + i, chunkSize, derivatives);
            }
            finally
            {
                foreach (var end in ends) end?.Dispose();
            }
        }
        return (derivatives, outer!.Value.Value);
    }

    /// <summary>θ_T carrying the tangents z_T of chunk <paramref name="chunk"/>'s directions; the caller owns it.</summary>
    private static Tensor<T> Unroll<T>(IBilevelProblem<T> problem, Tensor<T> phi, long outerStep, Tensor<T> directions, int chunk, int chunkSize)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var scope = TensorScope.Begin();
        var (ends, _) = Autodiff.JvpStacked(p => [InnerDynamics.Final(problem, p[0], outerStep).Theta], [phi], [ChunkOf(directions, chunk, chunkSize)]);
        return scope.Keep(ends[0]);
    }

    /// <summary>
    /// derivatives[i] = ⟨∂f/∂θ, z_T,i⟩ + ⟨∂f/∂φ, v_i⟩ for chunk <paramref name="chunk"/>'s directions; z_T is absent
    /// (zero) when θ_T does not depend on φ (no inner steps, or φ only in f).
    /// </summary>
    private static void Project<T>(Tensor<T>? tangents, Tensor<T> dTheta, Tensor<T> dPhi, Tensor<T> directions, int chunk, int chunkSize, double[] derivatives)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var scope = TensorScope.Begin();
        var v = ChunkOf(directions, chunk, chunkSize);
        int length = v.Shape[0];
        var d = Ops.MatMul(v, Ops.Reshape(dPhi, dPhi.Length, 1));
        if (tangents is not null)
            d = Ops.Add(d, Ops.MatMul(Ops.Reshape(tangents, length, dTheta.Length), Ops.Reshape(dTheta, dTheta.Length, 1)));
        var values = d.Span;
        for (int i = 0; i < length; i++) derivatives[chunk * chunkSize + i] = double.CreateChecked(values[i]);
    }

    /// <summary>The rows of chunk <paramref name="chunk"/> (the last may be short): a view, not a copy.</summary>
    private static Tensor<T> ChunkOf<T>(Tensor<T> directions, int chunk, int chunkSize) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int start = chunk * chunkSize;
        return Ops.Slice(directions, 0, start, Math.Min(chunkSize, directions.Shape[0] - start));
    }

    /// <summary>Σ_i w·d_i v_i as a [N] tensor: the estimate, for weight w = 1/b (FG²U) or 1 (FGU's unit directions).</summary>
    public static Tensor<T> Combine<T>(double[] derivatives, Tensor<T> directions, double weight) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var d = Tensor<T>.FromSpan(derivatives.Select(x => T.CreateChecked(x * weight)).ToArray(), new Shape(1, derivatives.Length));
        return Ops.Reshape(Ops.MatMul(d, directions), directions.Shape[1]);
    }
}
