using System.Numerics;
using Bilevel.Tensors;
using TP = System.Numerics.Tensors.TensorPrimitives;

namespace Bilevel.Nn.Optimizers;

/// <summary>
/// Updates the outer variables φ in place from a hypergradient. Not differentiated through, so it works on spans.
/// Its state (step count and buffers) can be exported and restored, which is how a trial checkpoints it.
/// </summary>
public abstract class OuterOptimizer
{
    protected OuterOptimizer(double learningRate, Projection? projection)
    {
        if (!(learningRate > 0) || !double.IsFinite(learningRate))
            throw new ArgumentException($"outer optimizer: learning rate must be a positive number, got {learningRate}.", nameof(learningRate));
        LearningRate = learningRate;
        Projection = projection;
    }

    public double LearningRate { get; }

    /// <summary>Applied after every step (e.g. clip sample weights to [0, 1]); null for none.</summary>
    public Projection? Projection { get; }

    /// <summary>Outer steps taken so far.</summary>
    public long Steps { get; private set; }

    public void Step<T>(Tensor<T> phi, Tensor<T> gradient) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (phi.Shape != gradient.Shape)
            throw new ArgumentException($"outer optimizer: gradient shape {gradient.Shape} differs from φ's {phi.Shape}.", nameof(gradient));
        Steps++;
        Update(phi.Span, gradient.Span);
        if (Projection is { } p) TP.Clamp(phi.Span, T.CreateChecked(p.Low), T.CreateChecked(p.High), phi.Span);
    }

    protected abstract void Update<T>(Span<T> phi, ReadOnlySpan<T> gradient) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>The buffers (momentum, Adam moments) as double arrays, for checkpoints.</summary>
    public abstract double[][] ExportBuffers();

    public void Restore(long steps, double[][] buffers)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        Steps = steps;
        ImportBuffers(buffers);
    }

    protected abstract void ImportBuffers(double[][] buffers);

    /// <summary>A buffer of φ's length, created on first use so the optimizer needs no size up front.</summary>
    protected static double[] Buffer(ref double[]? buffer, int length) => buffer is { } b && b.Length == length ? b : buffer = new double[length];
}

/// <summary>Clip every coordinate of φ to [Low, High].</summary>
public sealed record Projection(double Low, double High)
{
    public static Projection UnitInterval { get; } = new(0, 1);
}

public sealed class OuterSgd(double learningRate, Projection? projection = null) : OuterOptimizer(learningRate, projection)
{
    protected override void Update<T>(Span<T> phi, ReadOnlySpan<T> gradient)
    {
        for (int i = 0; i < phi.Length; i++) phi[i] -= T.CreateChecked(LearningRate) * gradient[i];
    }

    public override double[][] ExportBuffers() => [];

    protected override void ImportBuffers(double[][] buffers)
    {
        if (buffers.Length != 0) throw new ArgumentException("outer sgd: has no buffers to restore.", nameof(buffers));
    }
}

public sealed class OuterMomentum : OuterOptimizer
{
    private double[]? velocity;

    public OuterMomentum(double learningRate, double mu = 0.9, Projection? projection = null) : base(learningRate, projection)
    {
        if (!(mu >= 0 && mu < 1)) throw new ArgumentException($"outer momentum: mu must be in [0, 1), got {mu}.", nameof(mu));
        Mu = mu;
    }

    public double Mu { get; }

    protected override void Update<T>(Span<T> phi, ReadOnlySpan<T> gradient)
    {
        var v = Buffer(ref velocity, phi.Length);
        for (int i = 0; i < phi.Length; i++)
        {
            v[i] = Mu * v[i] + double.CreateChecked(gradient[i]);
            phi[i] -= T.CreateChecked(LearningRate * v[i]);
        }
    }

    public override double[][] ExportBuffers() => velocity is null ? [] : [(double[])velocity.Clone()];

    protected override void ImportBuffers(double[][] buffers) => velocity = buffers.Length == 0 ? null : (double[])buffers[0].Clone();
}

public sealed class OuterAdam : OuterOptimizer
{
    private double[]? first;
    private double[]? second;

    public OuterAdam(double learningRate, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8, Projection? projection = null) : base(learningRate, projection)
    {
        if (!(beta1 >= 0 && beta1 < 1)) throw new ArgumentException($"outer adam: beta1 must be in [0, 1), got {beta1}.", nameof(beta1));
        if (!(beta2 >= 0 && beta2 < 1)) throw new ArgumentException($"outer adam: beta2 must be in [0, 1), got {beta2}.", nameof(beta2));
        if (!(epsilon > 0)) throw new ArgumentException($"outer adam: epsilon must be positive, got {epsilon}.", nameof(epsilon));
        (Beta1, Beta2, Epsilon) = (beta1, beta2, epsilon);
    }

    public double Beta1 { get; }

    public double Beta2 { get; }

    public double Epsilon { get; }

    protected override void Update<T>(Span<T> phi, ReadOnlySpan<T> gradient)
    {
        var m = Buffer(ref first, phi.Length);
        var v = Buffer(ref second, phi.Length);
        double c1 = 1 - Math.Pow(Beta1, Steps), c2 = 1 - Math.Pow(Beta2, Steps);
        for (int i = 0; i < phi.Length; i++)
        {
            double g = double.CreateChecked(gradient[i]);
            m[i] = Beta1 * m[i] + (1 - Beta1) * g;
            v[i] = Beta2 * v[i] + (1 - Beta2) * g * g;
            phi[i] -= T.CreateChecked(LearningRate * (m[i] / c1) / (Math.Sqrt(v[i] / c2) + Epsilon));
        }
    }

    public override double[][] ExportBuffers() => first is null ? [] : [(double[])first.Clone(), (double[])second!.Clone()];

    protected override void ImportBuffers(double[][] buffers)
    {
        (first, second) = buffers.Length == 0 ? (null, null) : ((double[])buffers[0].Clone(), (double[])buffers[1].Clone());
    }
}
