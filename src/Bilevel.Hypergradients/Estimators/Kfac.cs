using System.Numerics;
using Bilevel.Hypergradients.Internal;
using Bilevel.Nn;
using Bilevel.Tensors;

namespace Bilevel.Hypergradients.Estimators;

/// <summary>
/// KFAC IFT (Liao, Dangel and Yu): q ≈ H⁻¹ ∂f/∂θ with the inner Hessian approximated block-diagonally over the
/// model's Linear and Conv layers, each block by A ⊗ G (see <see cref="KfacFactors"/>), then ∇h ≈ ∂f/∂φ − H_φθ q
/// by one mixed product. For layer l, with V_l = ∂f/∂θ of the layer as a matrix [W | b] of shape [d_out, d_in(+1)],
/// q_l = (G + d_G I)⁻¹ V_l (A + d_A I)⁻¹, solved by Cholesky. The damping λ' = λ + ρ (ρ: the L2 term of the inner
/// loss, whose Hessian is ρI) is split by the π-heuristic, π = √((tr A / dim A) / (tr G / dim G)),
/// d_A = π√λ', d_G = √λ'/π, so that (A + d_A I) ⊗ (G + d_G I) = A ⊗ G + λ'I + cross terms; or, with
/// <see cref="KfacDamping.Exact"/>, q_l = (A ⊗ G + λ'I)⁻¹ V_l from the eigendecompositions of A and G.
/// </summary>
/// <remarks>
/// <para>The factors are state: computed on the inner minibatch of the last inner step at θ_T(φ) when the estimator
/// has none, and refreshed when U = <see cref="RefreshInterval"/> outer steps have passed since the last refresh,
/// as an exponential moving average F ← β F + (1 − β) F_new with β = <see cref="EmaDecay"/> (the first refresh
/// takes F_new as is; an outer step earlier than the last refresh, as after restoring an older checkpoint,
/// recomputes them without averaging). <see cref="State"/> and <see cref="Restore"/> let a trial checkpoint them.
/// One instance serves one trial; it is not thread-safe.</para>
/// <para>Parameters outside every Kronecker block (instance-norm γ, β) get a scaled identity: q_u = u / (|r| + λ),
/// u = ∂f/∂θ on those parameters, r = uᵀHu / uᵀu the inner Hessian's Rayleigh quotient along u (one more
/// Hessian-vector product, only when such parameters have a non-zero gradient).</para>
/// <para>With π- or even damping the damped system differs from A ⊗ G + λ'I by O(√λ'), so even an exact
/// factorisation (a linear least-squares layer) reproduces the exact IFT hypergradient only as λ → 0, with an error
/// ∝ √λ, and an L2 term ρ in the inner loss over-damps the blocks by √ρ(π I ⊗ G + A/π ⊗ I). Exact damping has
/// neither defect, for an eigendecomposition instead of a Cholesky factor per refresh (about 20× the time at n ≈ 1000).</para>
/// </remarks>
public sealed class Kfac : IHypergradientEstimator
{
    private KfacState? state;
    // Buffers kept across calls, so that a refresh every outer step reuses them instead of putting several
    // megabytes on the large-object heap: the factor arrays the state no longer holds (the next refresh writes
    // into them), the factorizations (refactored in place), and the layer matrix V.
    private IReadOnlyList<KfacLayerFactors>? spare;
    private KfacInverse[]? factorizations;
    // NaN while the factorizations do not belong to the current factors (NaN equals no damping).
    private double factorizedDamping = double.NaN;
    private double[]? layerMatrix;

    public Kfac(double damping, int refreshInterval = 1, double emaDecay = 0, KfacFisher fisher = KfacFisher.Exact, int samples = 1,
        KfacDamping dampingMode = KfacDamping.PiHeuristic)
    {
        if (!(damping > 0) || !double.IsFinite(damping))
            throw new ArgumentException($"kfac: damping λ must be a positive number, got {damping}.", nameof(damping));
        if (refreshInterval < 1)
            throw new ArgumentException($"kfac: refreshInterval U must be ≥ 1 outer step, got {refreshInterval}.", nameof(refreshInterval));
        if (!(emaDecay >= 0 && emaDecay < 1))
            throw new ArgumentException($"kfac: emaDecay β must be in [0, 1), got {emaDecay}.", nameof(emaDecay));
        if (fisher is not (KfacFisher.Exact or KfacFisher.MonteCarlo))
            throw new ArgumentException($"kfac: fisher must be Exact or MonteCarlo, got {fisher}.", nameof(fisher));
        if (dampingMode is not (KfacDamping.PiHeuristic or KfacDamping.Even or KfacDamping.Exact))
            throw new ArgumentException($"kfac: dampingMode must be PiHeuristic, Even or Exact, got {dampingMode}.", nameof(dampingMode));
        if (samples < 1)
            throw new ArgumentException($"kfac: samples (Monte Carlo labels per example) must be ≥ 1, got {samples}.", nameof(samples));
        Damping = damping;
        RefreshInterval = refreshInterval;
        EmaDecay = emaDecay;
        Fisher = fisher;
        Samples = samples;
        DampingMode = dampingMode;
    }

    /// <summary>λ &gt; 0.</summary>
    public double Damping { get; }

    /// <summary>U ≥ 1: outer steps between factor refreshes.</summary>
    public int RefreshInterval { get; }

    /// <summary>β ∈ [0, 1): weight of the old factors at a refresh (0: replace them).</summary>
    public double EmaDecay { get; }

    public KfacFisher Fisher { get; }

    /// <summary>Sampled labels per example for <see cref="KfacFisher.MonteCarlo"/>.</summary>
    public int Samples { get; }

    /// <summary>How λ' = λ + ρ enters each block (default: the π-heuristic of the design).</summary>
    public KfacDamping DampingMode { get; }

    public string Name => $"kfac(lambda={Damping}, U={RefreshInterval}, decay={EmaDecay}, fisher={(Fisher == KfacFisher.Exact ? "exact" : $"mc({Samples})")}, damping={DampingMode switch { KfacDamping.Exact => "exact", KfacDamping.Even => "even", _ => "pi" }})";

    /// <summary>A copy of the current factors, or null before the first estimate.</summary>
    public KfacState? State => state?.Copy();

    /// <summary>Replaces the factors by a copy of <paramref name="snapshot"/> (null forgets them); checked against the model at the next estimate.</summary>
    public void Restore(KfacState? snapshot)
    {
        if (snapshot is not null)
        {
            ArgumentNullException.ThrowIfNull(snapshot.Layers, nameof(snapshot));
            foreach (var f in snapshot.Layers)
                if (f is null || f.InputSize < 1 || f.OutputSize < 1 || f.A is null || f.G is null
                    || f.A.Length != f.InputSize * f.InputSize || f.G.Length != f.OutputSize * f.OutputSize)
                    throw new ArgumentException($"kfac: the snapshot's factors of layer {f?.Layer} do not have the sizes they declare.", nameof(snapshot));
        }
        state = snapshot?.Copy();
        factorizedDamping = double.NaN;
    }

    public HypergradientEstimate<T> Estimate<T>(IBilevelProblem<T> problem, Tensor<T> phi, long outerStep) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(problem);
        if (problem is not IKfacProblem<T> kfacProblem)
            throw new ArgumentException($"kfac: the problem ({problem.GetType().Name}) must implement IKfacProblem<T> to say which model and minibatch its inner loss uses.", nameof(problem));
        var meter = new CostMeter();
        var setting = new ImplicitSetting<T>(problem, phi, outerStep);
        var batch = kfacProblem.KfacBatch(phi, outerStep, problem.UnrollSteps);
        var uncovered = CheckBatch(batch, problem.InnerSize);
        var layers = batch.Model.KfacLayers;

        if (state is null || outerStep < state.Step || outerStep - state.Step >= RefreshInterval)
            Refresh(batch, setting.Theta, problem.Seed, outerStep);
        CheckState(layers);
        double damping = Damping + batch.L2;
        if (factorizations is null || factorizedDamping != damping)
            Factorize(damping);

        // The layers' blocks go from ∂f/∂θ to q one at a time through one double matrix V, in the model's precision
        // on both ends.
        var gradient = setting.OuterThetaGradient.Span;
        using var q = Tensor<T>.Zeros(setting.OuterThetaGradient.Shape);
        int largest = layers.Select(layer => layer.OutputSize * layer.FactorInputSize).DefaultIfEmpty().Max();
        if (layerMatrix is null || layerMatrix.Length < largest) layerMatrix = new double[largest];
        for (int l = 0; l < layers.Count; l++)
        {
            var v = layerMatrix.AsSpan(0, layers[l].OutputSize * layers[l].FactorInputSize);
            layers[l].ToMatrix<T>(gradient, v);
            factorizations![l].Apply(v);
            layers[l].FromMatrix(v, q.Span);
        }
        FillUncovered(setting, uncovered, q);

        var hypergradient = setting.Hypergradient(q);
        meter.HvpCount = setting.HvpCount;
        meter.InnerPasses = 1;
        return new HypergradientEstimate<T>(hypergradient, setting.OuterLoss, meter.Report());
    }

    /// <summary>The damping split of each layer: π-heuristic (or even), for the total damping λ'.</summary>
    internal static (double DampingA, double DampingG) Split(KfacLayerFactors f, double damping, bool piDamping)
    {
        double root = Math.Sqrt(damping);
        if (!piDamping) return (root, root);
        double meanA = Trace(f.A, f.InputSize) / f.InputSize, meanG = Trace(f.G, f.OutputSize) / f.OutputSize;
        double pi = Math.Sqrt(meanA / meanG);
        // A factor that vanishes (dead units, a saturated softmax) leaves π undefined: split evenly then.
        if (!double.IsFinite(pi) || !(pi > 0)) pi = 1;
        return (pi * root, root / pi);
    }

    /// <summary>
    /// New factors from the batch, written into the spare arrays, replace the held ones (which become the spare) or
    /// are averaged into them in place (and stay the spare): the state's arrays are the estimator's own, since
    /// <see cref="State"/> and <see cref="Restore"/> copy.
    /// </summary>
    private void Refresh<T>(KfacBatch<T> batch, Tensor<T> theta, ulong seed, long outerStep) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var fresh = KfacFactors.Compute(batch, theta, Fisher, Samples, seed, outerStep, spare);
        if (state is null || outerStep < state.Step || EmaDecay == 0)
        {
            spare = state?.Layers;
            state = new KfacState(outerStep, state is null || outerStep < state.Step ? 1 : state.Updates + 1, fresh);
        }
        else
        {
            if (fresh.Length != state.Layers.Count)
                throw new ArgumentException($"kfac: the model has {fresh.Length} Kronecker layers but the factors held have {state.Layers.Count}.", "problem");
            for (int l = 0; l < fresh.Length; l++) CheckSameLayer(state.Layers[l], fresh[l]);
            for (int l = 0; l < fresh.Length; l++)
            {
                Mix(state.Layers[l].A, fresh[l].A);
                Mix(state.Layers[l].G, fresh[l].G);
            }
            spare = fresh;
            state = new KfacState(outerStep, state.Updates + 1, state.Layers);
        }
        factorizedDamping = double.NaN;
    }

    /// <summary>Factorises every layer's damped block, reusing the previous factorizations' buffers.</summary>
    private void Factorize(double damping)
    {
        var layers = state!.Layers;
        var previous = factorizations;
        factorizedDamping = double.NaN; // until every layer has succeeded
        factorizations = new KfacInverse[layers.Count];
        for (int l = 0; l < layers.Count; l++)
            factorizations[l] = KfacInverse.Create(layers[l], damping, DampingMode, previous is not null && l < previous.Length ? previous[l] : null);
        factorizedDamping = damping;
    }

    /// <summary>
    /// q_u = u / (|r| + λ) on the parameters no Kronecker block covers, r = uᵀHu / uᵀu: the identity scaled to the
    /// curvature along u (|r| keeps the system positive where the inner loss is not convex along u).
    /// </summary>
    private void FillUncovered<T>(ImplicitSetting<T> setting, List<(int Start, int Length)> uncovered, Tensor<T> q) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var gradient = setting.OuterThetaGradient.Span;
        double uu = 0;
        foreach (var (start, length) in uncovered)
            foreach (var g in gradient.Slice(start, length)) uu += double.CreateChecked(g) * double.CreateChecked(g);
        if (uu == 0) return;
        using var scope = TensorScope.Begin();
        var u = Tensor<T>.Zeros(setting.OuterThetaGradient.Shape);
        foreach (var (start, length) in uncovered) gradient.Slice(start, length).CopyTo(u.Span.Slice(start, length));
        var hu = setting.InnerHessianTimes(u).Span;
        double uhu = 0;
        foreach (var (start, length) in uncovered)
            for (int i = start; i < start + length; i++) uhu += double.CreateChecked(gradient[i]) * double.CreateChecked(hu[i]);
        double scale = 1 / (Math.Abs(uhu / uu) + Damping);
        var span = q.Span;
        foreach (var (start, length) in uncovered)
            for (int i = start; i < start + length; i++) span[i] = T.CreateChecked(scale * double.CreateChecked(gradient[i]));
    }

    /// <summary>Checks the batch; returns the ranges of θ outside every Kronecker block, in order.</summary>
    private static List<(int Start, int Length)> CheckBatch<T>(KfacBatch<T> batch, int innerSize) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(batch.Model, nameof(batch));
        ArgumentNullException.ThrowIfNull(batch.Inputs, nameof(batch));
        if (batch.Model.Layout.Count != innerSize)
            throw new ArgumentException($"kfac: the model has {batch.Model.Layout.Count} parameters but θ has {innerSize}; KFAC needs θ to be exactly the model's parameter vector.", nameof(batch));
        if (!(batch.L2 >= 0) || !double.IsFinite(batch.L2))
            throw new ArgumentException($"kfac: the inner loss's L2 coefficient must be ≥ 0, got {batch.L2}.", nameof(batch));
        if (batch.Likelihood is not (KfacLikelihood.Classification or KfacLikelihood.Regression))
            throw new ArgumentException($"kfac: unknown likelihood {batch.Likelihood}.", nameof(batch));
        // The blocks sorted by offset: an overlap shows as a block starting before the previous one ended, and the
        // gaps between them are the uncovered ranges (no per-parameter array of θ's length).
        var blocks = batch.Model.KfacLayers
            .SelectMany(layer => (layer.Bias is null ? [layer.Weight] : new[] { layer.Weight, layer.Bias }).Select(block => (Block: block, Layer: layer.Name)))
            .Where(b => b.Block.Length > 0)
            .OrderBy(b => b.Block.Offset)
            .ToList();
        var uncovered = new List<(int Start, int Length)>();
        int end = 0;
        foreach (var (block, layer) in blocks)
        {
            if (block.Offset < end)
                throw new ArgumentException($"kfac: parameter {block.Offset} belongs to two Kronecker layers (layer {layer}).", nameof(batch));
            if (block.Offset > end) uncovered.Add((end, block.Offset - end));
            end = block.Offset + block.Length;
        }
        if (end < innerSize) uncovered.Add((end, innerSize - end));
        return uncovered;
    }

    private void CheckState(IReadOnlyList<KfacLayer> layers)
    {
        var held = state!.Layers;
        bool same = held.Count == layers.Count;
        for (int l = 0; same && l < layers.Count; l++)
            same = held[l].Layer == layers[l].Name && held[l].InputSize == layers[l].FactorInputSize && held[l].OutputSize == layers[l].OutputSize;
        if (!same)
            throw new ArgumentException(
                $"kfac: the factors held are for layers [{string.Join(", ", held.Select(f => $"{f.Layer} {f.OutputSize}×{f.InputSize}"))}] but the problem's model has [{string.Join(", ", layers.Select(l => $"{l.Name} {l.OutputSize}×{l.FactorInputSize}"))}]; restore a snapshot of this model's factors.",
                "problem");
    }

    private static void CheckSameLayer(KfacLayerFactors old, KfacLayerFactors fresh)
    {
        if (old.Layer != fresh.Layer || old.InputSize != fresh.InputSize || old.OutputSize != fresh.OutputSize)
            throw new ArgumentException($"kfac: the factors held for layer {old.Layer} ({old.OutputSize}×{old.InputSize}) do not fit layer {fresh.Layer} ({fresh.OutputSize}×{fresh.InputSize}) of the problem's model.", "problem");
    }

    /// <summary>old ← β old + (1 − β) fresh.</summary>
    private void Mix(double[] old, double[] fresh)
    {
        for (int i = 0; i < old.Length; i++) old[i] = EmaDecay * old[i] + (1 - EmaDecay) * fresh[i];
    }

    private static double Trace(double[] m, int n)
    {
        double t = 0;
        for (int i = 0; i < n; i++) t += m[i * n + i];
        return t;
    }
}
