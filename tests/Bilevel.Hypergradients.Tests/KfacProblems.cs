using Bilevel.Nn;
using Bilevel.Nn.Optimizers;
using Bilevel.Tensors;

namespace Bilevel.Hypergradients.Tests;

/// <summary>
/// Least squares with one Linear layer, where KFAC's factorisation is exact:
/// g(θ, φ) = (c/n) Σ_i ½‖W x_i + b − y_i(φ)‖² with targets y_i = Y_i + P_i φ, f(θ, φ) = (1/m) Σ_j ½‖W u_j + b − v_j‖² + ½ρ‖φ‖².
/// The Hessian is c·(1/n) Σ ā āᵀ ⊗ I (ā = [x; 1]), which is A ⊗ G with G = c·I. The implicit hypergradient has the
/// closed form of <see cref="ImplicitHypergradient"/>, computed in plain double arithmetic.
/// </summary>
internal sealed class LeastSquaresProblem : IKfacProblem<double>
{
    public const double Weight = 0.7, Rho = 0.3, LearningRate = 0.9;

    private readonly double[,] x, y, p, u, v;
    private readonly Tensor<double> xs, ys, ps, us, vs, weights;

    public LeastSquaresProblem(int samples = 48, int inputs = 4, int outputs = 3, int outer = 5, int validation = 20, int steps = 400, ulong seed = 7)
    {
        (N, Din, Dout, OuterSize, M, UnrollSteps, Seed) = (samples, inputs, outputs, outer, validation, steps, seed);
        Model = new Mlp(inputs, outputs);
        var random = new CounterRandom(seed, 0, "least-squares");
        x = Gaussian(samples, inputs, 1, ref random);
        y = Gaussian(samples, outputs, 1, ref random);
        p = Gaussian(samples * outputs, outer, 0.5, ref random);
        u = Gaussian(validation, inputs, 1, ref random);
        v = Gaussian(validation, outputs, 1, ref random);
        (xs, ys, ps, us, vs) = (Tensor(x), Tensor(y), Tensor(p), Tensor(u), Tensor(v));
        weights = Tensor<double>.Full(new Shape(samples), Weight);
    }

    public Mlp Model { get; }

    public int N { get; }

    public int Din { get; }

    public int Dout { get; }

    public int M { get; }

    public int InnerSize => Model.Layout.Count;

    public int OuterSize { get; }

    public int UnrollSteps { get; }

    public ulong Seed { get; }

    public IInnerOptimizer Optimizer { get; } = new Sgd();

    public Tensor<double> InitialTheta(long outerStep) => Tensor<double>.Zeros(InnerSize);

    public StepSize<double> StepSize(Tensor<double> phi, int step) => new(Tensor<double>.Scalar(LearningRate));

    public Tensor<double> InnerLoss(Tensor<double> theta, Tensor<double> phi, long outerStep, int step)
    {
        var targets = Ops.Add(ys, Ops.Reshape(Ops.MatMul(ps, Ops.Reshape(phi, OuterSize, 1)), N, Dout));
        var residual = Ops.Sub(Model.Forward(theta, xs), targets);
        return Ops.Scale(Ops.SquaredNorm(residual), Weight / (2.0 * N));
    }

    public Tensor<double> OuterLoss(Tensor<double> theta, Tensor<double> phi, long outerStep)
    {
        var residual = Ops.Sub(Model.Forward(theta, us), vs);
        return Ops.Add(Ops.Scale(Ops.SquaredNorm(residual), 1.0 / (2.0 * M)), Ops.Scale(Ops.SquaredNorm(phi), 0.5 * Rho));
    }

    public KfacBatch<double> KfacBatch(Tensor<double> phi, long outerStep, int step) => new(Model, xs, KfacLikelihood.Regression, weights);

    /// <summary>
    /// With V = [Wᵀ | b] [d_out, d_in + 1]: V* = (Σ y_i ā_iᵀ)(Σ ā_i ā_iᵀ)⁻¹, F = ∂f/∂V = (1/m) Σ (V* ū_j − v_j) ū_jᵀ,
    /// q = F (c/n Σ ā āᵀ)⁻¹ and ∇h = ρφ + (c/n) Σ_i P_iᵀ q ā_i.
    /// </summary>
    public double[] ImplicitHypergradient(double[] phi)
    {
        int d = Din + 1;
        var gram = new double[d, d];
        var cross = new double[Dout, d];
        for (int i = 0; i < N; i++)
        {
            var a = Extended(x, i);
            var target = Target(i, phi);
            for (int r = 0; r < d; r++)
            {
                for (int s = 0; s < d; s++) gram[r, s] += a[r] * a[s];
                for (int o = 0; o < Dout; o++) cross[o, r] += target[o] * a[r];
            }
        }
        var vStar = RightSolve(cross, gram);
        var f = new double[Dout, d];
        for (int j = 0; j < M; j++)
        {
            var a = Extended(u, j);
            for (int o = 0; o < Dout; o++)
            {
                double r = -v[j, o];
                for (int s = 0; s < d; s++) r += vStar[o, s] * a[s];
                for (int s = 0; s < d; s++) f[o, s] += r * a[s] / M;
            }
        }
        var hessianGram = new double[d, d];
        for (int r = 0; r < d; r++) for (int s = 0; s < d; s++) hessianGram[r, s] = Weight / N * gram[r, s];
        var q = RightSolve(f, hessianGram);
        var result = phi.Select(value => Rho * value).ToArray();
        for (int i = 0; i < N; i++)
        {
            var a = Extended(x, i);
            for (int o = 0; o < Dout; o++)
            {
                double qa = 0;
                for (int s = 0; s < d; s++) qa += q[o, s] * a[s];
                for (int k = 0; k < OuterSize; k++) result[k] += Weight / N * p[i * Dout + o, k] * qa;
            }
        }
        return result;
    }

    private double[] Target(int i, double[] phi)
    {
        var t = new double[Dout];
        for (int o = 0; o < Dout; o++)
        {
            t[o] = y[i, o];
            for (int k = 0; k < OuterSize; k++) t[o] += p[i * Dout + o, k] * phi[k];
        }
        return t;
    }

    private static double[] Extended(double[,] m, int row)
    {
        int d = m.GetLength(1);
        var a = new double[d + 1];
        for (int j = 0; j < d; j++) a[j] = m[row, j];
        a[d] = 1;
        return a;
    }

    /// <summary>B S⁻¹ for symmetric positive definite S, row by row, by Gaussian elimination with partial pivoting.</summary>
    private static double[,] RightSolve(double[,] b, double[,] s)
    {
        int rows = b.GetLength(0), d = s.GetLength(0);
        var result = new double[rows, d];
        for (int r = 0; r < rows; r++)
        {
            var m = new double[d, d + 1];
            for (int i = 0; i < d; i++)
            {
                for (int j = 0; j < d; j++) m[i, j] = s[i, j];
                m[i, d] = b[r, i];
            }
            for (int c = 0; c < d; c++)
            {
                int pivot = c;
                for (int i = c + 1; i < d; i++) if (Math.Abs(m[i, c]) > Math.Abs(m[pivot, c])) pivot = i;
                for (int j = 0; j <= d; j++) (m[c, j], m[pivot, j]) = (m[pivot, j], m[c, j]);
                for (int i = 0; i < d; i++)
                {
                    if (i == c) continue;
                    double factor = m[i, c] / m[c, c];
                    for (int j = c; j <= d; j++) m[i, j] -= factor * m[c, j];
                }
            }
            for (int i = 0; i < d; i++) result[r, i] = m[i, d] / m[i, i];
        }
        return result;
    }

    private static double[,] Gaussian(int rows, int cols, double std, ref CounterRandom random)
    {
        var g = new double[rows, cols];
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) g[i, j] = std * random.NextGaussian();
        return g;
    }

    private static Tensor<double> Tensor(double[,] m) => Tensor<double>.FromSpan(m.Cast<double>().ToArray(), new Shape(m.GetLength(0), m.GetLength(1)));
}

/// <summary>
/// Data hypercleaning with any KFAC-capable model: g(θ, φ) = (1/n) Σ_i σ(φ_i)·CE(z_i, y_i) + (ρ/2)‖θ‖² on a fixed
/// training set (full batch), f(θ) = mean CE on a validation set. Labels come from a random teacher, some flipped.
/// </summary>
internal sealed class HypercleaningProblem : IKfacProblem<double>
{
    private readonly Tensor<double> x, xv;
    private readonly int[] labels, validationLabels;

    public HypercleaningProblem(IKfacModel model, Shape sampleShape, int classes, int samples, int validation, double l2, double learningRate, int steps, ulong seed = 11)
    {
        (Model, L2, LearningRate, UnrollSteps, Seed, OuterSize) = (model, l2, learningRate, steps, seed, samples);
        var random = new CounterRandom(seed, 0, "hypercleaning");
        int features = sampleShape.Length;
        var teacher = new double[features * classes];
        random.FillGaussian<double>(teacher);
        (x, labels) = Data(samples, sampleShape, classes, teacher, noise: 0.3, ref random);
        (xv, validationLabels) = Data(validation, sampleShape, classes, teacher, noise: 0, ref random);
    }

    public IKfacModel Model { get; }

    public double L2 { get; }

    public double LearningRate { get; }

    public int InnerSize => Model.Layout.Count;

    public int OuterSize { get; }

    public int UnrollSteps { get; }

    public ulong Seed { get; }

    public IInnerOptimizer Optimizer { get; } = new Momentum(0.9);

    public Tensor<double> InitialTheta(long outerStep) => Model.Initialize<double>(Seed);

    public StepSize<double> StepSize(Tensor<double> phi, int step) => new(Tensor<double>.Scalar(LearningRate));

    public Tensor<double> InnerLoss(Tensor<double> theta, Tensor<double> phi, long outerStep, int step)
        => Ops.Add(Ops.CrossEntropy(Model.Forward(theta, x), labels, Ops.Sigmoid(phi)), Ops.Scale(Ops.SquaredNorm(theta), 0.5 * L2));

    public Tensor<double> OuterLoss(Tensor<double> theta, Tensor<double> phi, long outerStep)
        => Ops.CrossEntropy(Model.Forward(theta, xv), validationLabels);

    public KfacBatch<double> KfacBatch(Tensor<double> phi, long outerStep, int step)
        => new(Model, x, KfacLikelihood.Classification, Ops.Sigmoid(phi), L2);

    public Tensor<double> Phi(long variant = 0)
    {
        var random = new CounterRandom(Seed, variant, "phi");
        var phi = new double[OuterSize];
        random.FillGaussian<double>(phi);
        return Tensor<double>.FromArray(phi, OuterSize);
    }

    private static (Tensor<double>, int[]) Data(int n, Shape sampleShape, int classes, double[] teacher, double noise, ref CounterRandom random)
    {
        int features = sampleShape.Length;
        var values = new double[n * features];
        random.FillGaussian<double>(values);
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            int best = 0;
            double bestScore = double.NegativeInfinity;
            for (int c = 0; c < classes; c++)
            {
                double score = 0;
                for (int j = 0; j < features; j++) score += values[i * features + j] * teacher[j * classes + c];
                if (score > bestScore) (best, bestScore) = (c, score);
            }
            labels[i] = random.NextDouble() < noise ? random.NextInt(classes) : best;
        }
        return (Tensor<double>.FromSpan(values, sampleShape.Prepend(n)), labels);
    }
}
