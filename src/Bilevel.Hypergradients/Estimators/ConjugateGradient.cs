using System.Numerics;
using Bilevel.Hypergradients.Internal;
using Bilevel.Tensors;

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
        Tensor<T> Damped(Tensor<T> v) => Ops.Add(setting.InnerHessianTimes(v), Ops.Scale(v, damping));
        Func<Tensor<T>, Tensor<T>> apply = NormalEquations ? v => Damped(Damped(v)) : Damped;

        var rhs = NormalEquations ? Damped(setting.OuterThetaGradient) : setting.OuterThetaGradient;
        var q = Tensor<T>.Zeros(rhs.Shape);
        var r = rhs;
        var p = r;
        double rr = Dot(r, r);
        for (int k = 0; k < Iterations && rr > 0; k++)
        {
            using var scope = TensorScope.Begin();
            var ap = apply(p);
            double pap = Dot(p, ap);
            if (!(pap > 0)) break; // the system is not positive definite along p: stop rather than step to a maximum
            var step = T.CreateChecked(rr / pap);
            var previous = (q, r, p);
            q = scope.Keep(Ops.Add(q, Ops.Scale(p, step)));
            r = scope.Keep(Ops.Sub(r, Ops.Scale(ap, step)));
            double next = Dot(r, r);
            p = scope.Keep(Ops.Add(r, Ops.Scale(p, T.CreateChecked(next / rr))));
            rr = next;
            setting.Retire(previous.q);
            setting.Retire(previous.r);
            setting.Retire(previous.p);
        }
        double relative;
        using (TensorScope.Begin())
        {
            var residual = Ops.Sub(Damped(q), setting.OuterThetaGradient);
            relative = Math.Sqrt(Dot(residual, residual) / Math.Max(Dot(setting.OuterThetaGradient, setting.OuterThetaGradient), double.Epsilon));
        }
        var gradient = setting.Hypergradient(q);
        meter.HvpCount = setting.HvpCount;
        meter.InnerPasses = 1;
        return new HypergradientEstimate<T>(gradient, setting.OuterLoss, meter.Report(), Residual: relative);
    }

    private static double Dot<T>(Tensor<T> a, Tensor<T> b) where T : unmanaged, IFloatingPointIeee754<T>
        => double.CreateChecked(System.Numerics.Tensors.TensorPrimitives.Dot<T>(a.Span, b.Span));
}
