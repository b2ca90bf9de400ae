using System.Numerics;
using Bilevel.Hypergradients.Internal;
using Bilevel.Tensors;
using TP = System.Numerics.Tensors.TensorPrimitives;

namespace Bilevel.Hypergradients.Estimators;

/// <summary>
/// CG IFT: q from K conjugate-gradient steps on (H + λI) q = ∂f/∂θ, or, when H may be indefinite, on the normal
/// equations (H + λI)² q = (H + λI) ∂f/∂θ (two products per step). The final relative residual is reported.
/// </summary>
public sealed class ConjugateGradient : IHypergradientEstimator
{
    public ConjugateGradient(int iterations, double damping = 0, bool normalEquations = false)
    {
        if (iterations < 0) throw new ArgumentException($"cg: K must be ≥ 0, got {iterations}.", nameof(iterations));
        if (!(damping >= 0) || !double.IsFinite(damping)) throw new ArgumentException($"cg: damping λ must be ≥ 0, got {damping}.", nameof(damping));
        Iterations = iterations;
        Damping = damping;
        NormalEquations = normalEquations;
    }

    public int Iterations { get; }

    public double Damping { get; }

    public bool NormalEquations { get; }

    public string Name => $"cg(K={Iterations}, lambda={Damping}{(NormalEquations ? ", normal" : "")})";

    public HypergradientEstimate<T> Estimate<T>(IBilevelProblem<T> problem, Tensor<T> phi, long outerStep) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var meter = new CostMeter();
        var setting = new ImplicitSetting<T>(problem, phi, outerStep);
        var damping = T.CreateChecked(Damping);
        // The iterates q, r, p and the product A p live in vectors owned here and are updated in place, so memory
        // is these (one more for the normal equations) plus one Hessian-vector product whatever K is.
        void Damped(Tensor<T> v, Tensor<T> destination)
        {
            using var scope = TensorScope.Begin();
            var hv = setting.InnerHessianTimes(v);
            TP.MultiplyAdd(v.Span, damping, hv.Span, destination.Span); // (H + λI) v
        }
        var g = setting.OuterThetaGradient;
        using var inner = NormalEquations ? Tensor<T>.Zeros(g.Shape) : null;
        void Apply(Tensor<T> v, Tensor<T> destination)
        {
            if (inner is null)
            {
                Damped(v, destination);
                return;
            }
            Damped(v, inner);
            Damped(inner, destination);
        }

        using var r = Tensor<T>.Zeros(g.Shape);
        if (NormalEquations) Damped(g, r);
        else g.Span.CopyTo(r.Span);
        using var q = Tensor<T>.Zeros(g.Shape);
        using var p = Tensor<T>.FromSpan(r.Span, r.Shape);
        using var ap = Tensor<T>.Zeros(g.Shape);
        double rr = Dot(r, r);
        for (int k = 0; k < Iterations && rr > 0; k++)
        {
            Apply(p, ap);
            double pap = Dot(p, ap);
            if (!(pap > 0)) break; // the system is not positive definite along p: stop rather than step to a maximum
            var step = T.CreateChecked(rr / pap);
            TP.MultiplyAdd(p.Span, step, q.Span, q.Span);
            TP.MultiplyAdd(ap.Span, -step, r.Span, r.Span);
            double next = Dot(r, r);
            TP.MultiplyAdd(p.Span, T.CreateChecked(next / rr), r.Span, p.Span);
            rr = next;
        }
        // The residual of (H + λI) q = ∂f/∂θ itself (also after the normal equations), in the buffer of A p.
        Damped(q, ap);
        TP.Subtract(ap.Span, g.Span, ap.Span);
        double relative = Math.Sqrt(Dot(ap, ap) / Math.Max(Dot(g, g), double.Epsilon));
        var gradient = setting.Hypergradient(q);
        meter.HvpCount = setting.HvpCount;
        meter.InnerPasses = 1;
        return new HypergradientEstimate<T>(gradient, setting.OuterLoss, meter.Report(), Residual: relative);
    }

    private static double Dot<T>(Tensor<T> a, Tensor<T> b) where T : unmanaged, IFloatingPointIeee754<T>
        => double.CreateChecked(TP.Dot<T>(a.Span, b.Span));
}
