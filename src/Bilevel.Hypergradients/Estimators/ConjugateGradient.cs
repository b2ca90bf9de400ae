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
        // The iterates q, r and p live in vectors owned here and are updated in place; A p is made in the buffer of
        // the Hessian-vector product itself, the previous one released first. So memory is these, ∂f/∂θ and one
        // product whatever K is.
        Tensor<T> Damped(Tensor<T> v)
        {
            using var scope = TensorScope.Begin();
            var hv = setting.InnerHessianTimes(v);
            TP.MultiplyAdd(v.Span, damping, hv.Span, hv.Span); // (H + λI) v
            return scope.Keep(hv);
        }
        Tensor<T> Apply(Tensor<T> v)
        {
            if (!NormalEquations) return Damped(v);
            using var inner = Damped(v);
            return Damped(inner);
        }

        var g = setting.OuterThetaGradient;
        using var r = NormalEquations ? Damped(g) : Tensor<T>.FromSpan(g.Span, g.Shape);
        using var q = Tensor<T>.Zeros(g.Shape);
        using var p = Tensor<T>.FromSpan(r.Span, r.Shape);
        double rr = Dot(r, r);
        for (int k = 0; k < Iterations && rr > 0; k++)
        {
            using var ap = Apply(p);
            double pap = Dot(p, ap);
            if (!(pap > 0)) break; // the system is not positive definite along p: stop rather than step to a maximum
            var step = T.CreateChecked(rr / pap);
            TP.MultiplyAdd(p.Span, step, q.Span, q.Span);
            TP.MultiplyAdd(ap.Span, -step, r.Span, r.Span);
            double next = Dot(r, r);
            TP.MultiplyAdd(p.Span, T.CreateChecked(next / rr), r.Span, p.Span);
            rr = next;
        }
        // The residual of (H + λI) q = ∂f/∂θ itself (also after the normal equations).
        double relative;
        using (var residual = Damped(q))
        {
            TP.Subtract(residual.Span, g.Span, residual.Span);
            relative = Math.Sqrt(Dot(residual, residual) / Math.Max(Dot(g, g), double.Epsilon));
        }
        var gradient = setting.Hypergradient(q);
        meter.HvpCount = setting.HvpCount;
        meter.InnerPasses = 1;
        return new HypergradientEstimate<T>(gradient, setting.OuterLoss, meter.Report(), Residual: relative);
    }

    private static double Dot<T>(Tensor<T> a, Tensor<T> b) where T : unmanaged, IFloatingPointIeee754<T>
        => double.CreateChecked(TP.Dot<T>(a.Span, b.Span));
}
