using System.Numerics;
using TP = System.Numerics.Tensors.TensorPrimitives;
using Bilevel.Hypergradients.Internal;
using Bilevel.Nn.Optimizers;
using Bilevel.Tensors;

namespace Bilevel.Hypergradients.Estimators;

/// <summary>
/// RGU (reverse unrolling) and TRGU(K) (its last K steps only; biased). The adjoint λ_t of the whole state
/// s_t = (θ_t, optimizer slots) runs backwards from λ_T = ∂f/∂s_T:
/// the optimizer update U(θ, slots, G, φ) is differentiated by plain reverse mode, and its dependence on
/// G = ∇_θ g(θ, φ) by one forward-over-reverse Hessian-vector product per step, which gives H_θθ·ḡ and H_φθ·ḡ at
/// once (Hessian symmetry turns the VJP through ∇g into an HVP). Exact for the T-step objective, first step and
/// optimizer state included. Memory O(M·K) states, or O(M·√K) with <see cref="Checkpointing"/> at the price of one
/// more forward pass.
/// </summary>
public sealed class ReverseUnrolling : IHypergradientEstimator
{
    public ReverseUnrolling(int? truncation = null, bool checkpointing = false)
    {
        if (truncation is < 0) throw new ArgumentException($"trgu: K must be ≥ 0, got {truncation}.", nameof(truncation));
        Truncation = truncation;
        Checkpointing = checkpointing;
    }

    /// <summary>K, the number of final steps differentiated through; null for all of them (RGU).</summary>
    public int? Truncation { get; }

    /// <summary>Store only every ⌈√K⌉-th state and recompute the others segment by segment.</summary>
    public bool Checkpointing { get; }

    public string Name => Truncation is { } k ? $"trgu(K={k})" : Checkpointing ? "rgu(checkpointed)" : "rgu";

    public HypergradientEstimate<T> Estimate<T>(IBilevelProblem<T> problem, Tensor<T> phi, long outerStep) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var meter = new CostMeter();
        int steps = problem.UnrollSteps;
        int k = Math.Min(Truncation ?? steps, steps);
        int first = steps - k + 1;
        int segment = Checkpointing ? Math.Max(1, (int)Math.Ceiling(Math.Sqrt(k))) : 1;

        // Forward: run to s_T, storing s_{t−1} for every step t ≥ first that starts a segment.
        var stored = new Dictionary<int, InnerState<T>>();
        var final = InnerDynamics.Run(problem, InnerDynamics.Start(problem, outerStep), phi, outerStep, 1, steps,
            (t, s) => { if (t >= first && (t - first) % segment == 0) stored[t] = Copy(s); });
        meter.InnerPasses = Checkpointing ? 2 : 1;

        var (loss, outerTheta, phiBar) = OuterGradient.Of(problem, final.Theta, phi, outerStep);
        var adjoint = new InnerState<T>(outerTheta, final.Slots.Select(s => Tensor<T>.Zeros(s.Shape)).ToArray());
        // s_T itself is not needed backwards (step t reads s_{t−1}): its memory goes to the adjoint steps.
        final.Dispose();

        for (int end = steps; end >= first; end = StartOf(end, first, segment) - 1)
        {
            int start = StartOf(end, first, segment);
            var states = Recompute(problem, stored[start], phi, outerStep, start, end);
            for (int t = end; t >= start; t--)
            {
                using var scope = TensorScope.Begin();
                var (stateBar, step) = AdjointStep(problem, states[t - start], adjoint, phi, outerStep, t);
                meter.HvpCount++;
                TP.Add(phiBar.Span, step.Span, phiBar.Span);
                var newAdjoint = stateBar.KeptBy(scope);
                adjoint.Dispose();
                adjoint = newAdjoint;
            }
            foreach (var s in states) s.Dispose();
        }
        adjoint.Dispose();
        return new HypergradientEstimate<T>(phiBar, loss, meter.Report());
    }

    /// <summary>The first step of the segment that ends at <paramref name="end"/>.</summary>
    private static int StartOf(int end, int first, int segment) => first + (end - first) / segment * segment;

    /// <summary>States s_{start−1} … s_{end−1} of a segment, recomputed from its stored first state.</summary>
    private static List<InnerState<T>> Recompute<T>(IBilevelProblem<T> problem, InnerState<T> from, Tensor<T> phi, long outerStep, int start, int end)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var states = new List<InnerState<T>> { from };
        if (start == end) return states;
        var state = Copy(from);
        for (int t = start; t < end; t++)
        {
            state = InnerDynamics.Run(problem, state, phi, outerStep, t, t);
            states.Add(Copy(state));
        }
        state.Dispose();
        return states;
    }

    /// <summary>
    /// One backward step through s_t = U(s_{t−1}, ∇_θ g(θ_{t−1}, φ), φ): returns λ_{t−1} and this step's
    /// contribution to ∇h. When U is affine in G, ḡ = (∂U/∂G)ᵀλ does not depend on G, and neither do the other
    /// cotangents unless the learning rate depends on φ (the term ∂U/∂η·G): without that, one pull-back through U with
    /// G = 0 gives every cotangent and G is never formed; with it, G comes out of the Hessian-vector product's primal
    /// for a second pull-back. Otherwise (Adam) G is computed first.
    /// </summary>
    private static (InnerState<T> Previous, Tensor<T> PhiContribution) AdjointStep<T>(IBilevelProblem<T> problem, InnerState<T> state, InnerState<T> adjoint, Tensor<T> phi, long outerStep, int step)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int slots = state.Slots.Count;
        var target = adjoint.ToArray();
        // The update's outputs pulled back along λ, with respect to θ, slots, G and φ.
        Tensor<T>[] UpdateVjp(Tensor<T> gradient) => Autodiff.Vjp(
            a => problem.Optimizer.Step(new InnerState<T>(a[0], a[1..(1 + slots)]), a[1 + slots], problem.StepSize(a[2 + slots], step), step).ToArray(),
            [state.Theta, .. state.Slots, gradient, phi], target).Cotangents;
        bool affine = problem.Optimizer.IsAffineInGradient;
        bool gradientEntersPhiBar = affine && Autodiff.DependsOn(p => problem.StepSize(p, step).LearningRate, phi);

        // Each stage runs in a scope that keeps only what the next stage reads, so a step's peak is one Hessian-vector
        // product plus a few parameter-sized vectors, not every temporary of the step at once.
        Tensor<T>[] bars;
        using (var stage = TensorScope.Begin())
            bars = Keep(stage, UpdateVjp(affine ? Tensor<T>.Zeros(state.Theta.Shape) : InnerDynamics.InnerGradient(problem, state.Theta, phi, outerStep, step)));
        // [H_θθ ḡ; H_φθ ḡ] by one forward-over-reverse product over (θ, φ); where G is needed, its primal holds G.
        Tensor<T>? gradient = null;
        Tensor<T> thetaHessian, phiHessian;
        using (var stage = TensorScope.Begin())
        {
            Func<Tensor<T>[], Tensor<T>> loss = q => problem.InnerLoss(q[0], q[1], outerStep, step);
            Tensor<T>[] primals = [state.Theta, phi], tangents = [bars[1 + slots], Tensor<T>.Zeros(phi.Shape)];
            Tensor<T>[] products;
            if (gradientEntersPhiBar)
            {
                (var gradients, products) = Autodiff.Jvp(p => Autodiff.Grad(loss, p), primals, tangents);
                gradient = stage.Keep(Ops.Detach(gradients[0]));
            }
            else products = Autodiff.HessianVectorProducts(loss, primals, tangents);
            (thetaHessian, phiHessian) = (stage.Keep(products[0]), stage.Keep(products[1]));
        }
        if (gradient is not null)
        {
            using var stage = TensorScope.Begin();
            var withGradient = Keep(stage, UpdateVjp(gradient));
            foreach (var bar in bars) bar.Dispose();
            bars = withGradient;
            gradient.Dispose();
        }
        bars[1 + slots].Dispose();
        // Summed in place: θ̄ may be an alias of λ_θ (U passes θ through), which no one reads after this step.
        TP.Add(bars[0].Span, thetaHessian.Span, bars[0].Span);
        TP.Add(bars[2 + slots].Span, phiHessian.Span, bars[2 + slots].Span);
        thetaHessian.Dispose();
        phiHessian.Dispose();
        return (new InnerState<T>(bars[0], bars[1..(1 + slots)]), bars[2 + slots]);
    }

    /// <summary>The tensors of <paramref name="parts"/>, kept by <paramref name="scope"/>.</summary>
    private static Tensor<T>[] Keep<T>(TensorScope scope, Tensor<T>[] parts) where T : unmanaged, IFloatingPointIeee754<T>
        => parts.Select(scope.Keep).ToArray();

    /// <summary>A detached copy that outlives the step scope it was made in (owned by the caller's scope).</summary>
    private static InnerState<T> Copy<T>(InnerState<T> s) where T : unmanaged, IFloatingPointIeee754<T>
        => new(Tensor<T>.FromSpan(s.Theta.Span, s.Theta.Shape), s.Slots.Select(x => Tensor<T>.FromSpan(x.Span, x.Shape)).ToArray());
}
