using System.Text.Json;
using Bilevel.Hypergradients.Estimators;
using Bilevel.Nn;
using Bilevel.Tensors;
using Xunit.Abstractions;

namespace Bilevel.Hypergradients.Tests;

/// <summary>KFAC IFT: exact where the factorisation is, close to the converged implicit hypergradient elsewhere.</summary>
public sealed class KfacTests(ITestOutputHelper output)
{
    [Fact]
    public void EqualsTheExactImplicitHypergradientOnLinearLeastSquares()
    {
        using var scope = TensorScope.Begin();
        var problem = new LeastSquaresProblem();
        var phiValues = Enumerable.Range(0, problem.OuterSize).Select(i => Math.Cos(i + 0.5)).ToArray();
        var phi = Tensor<double>.FromArray(phiValues, problem.OuterSize);
        var exact = problem.ImplicitHypergradient(phiValues);
        // π-damping perturbs the system by O(√λ) (the cross terms d_A·G + d_G·A), so λ must be tiny for 1e-8.
        var estimate = new Kfac(damping: 1e-20).Estimate(problem, phi, 0);
        double error = Quadratic.RelativeError(estimate.Gradient.Span, exact);
        output.WriteLine($"KFAC vs closed-form IFT, λ = 1e-20: relative error {error:E2}");
        Assert.InRange(error, 0, 1e-8);
        Assert.Equal(1, estimate.Cost.HvpCount); // one mixed product; every parameter is in the Kronecker block
    }

    [Fact]
    public void DampingErrorShrinksLikeRootLambda()
    {
        using var scope = TensorScope.Begin();
        var problem = new LeastSquaresProblem();
        var phiValues = Enumerable.Range(0, problem.OuterSize).Select(i => Math.Sin(2.0 * i)).ToArray();
        var phi = Tensor<double>.FromArray(phiValues, problem.OuterSize);
        var exact = problem.ImplicitHypergradient(phiValues);
        double Error(double lambda, KfacDamping mode = KfacDamping.PiHeuristic)
            => Quadratic.RelativeError(new Kfac(lambda, dampingMode: mode).Estimate(problem, phi, 0).Gradient.Span, exact);
        double e6 = Error(1e-6), e10 = Error(1e-10), e14 = Error(1e-14);
        output.WriteLine($"relative error with π-damping: λ=1e-6 {e6:E2}, 1e-10 {e10:E2}, 1e-14 {e14:E2}; even split λ=1e-10 {Error(1e-10, KfacDamping.Even):E2}; " +
                         $"exact damping λ=1e-6 {Error(1e-6, KfacDamping.Exact):E2}, 1e-12 {Error(1e-12, KfacDamping.Exact):E2}");
        // √λ falls by 100 per 1e-4 in λ: the error must follow (within a factor for the problem's constants).
        Assert.InRange(e6 / e10, 30, 300);
        Assert.InRange(e10 / e14, 30, 300);
        Assert.True(Error(1e-2) > e6, "a large damping must bias the estimate more");
        // Exact damping perturbs by O(λ), not O(√λ).
        Assert.InRange(Error(1e-12, KfacDamping.Exact), 0, 1e-9);
    }

    [Fact]
    public void ExactDampingSolvesTheDampedSystemExactlyWhereKfacIsExact()
    {
        // Least squares: A ⊗ G is the Hessian, so KFAC with exact damping λ is CG on (H + λI) q = ∂f/∂θ, run to the end.
        using var scope = TensorScope.Begin();
        var problem = new LeastSquaresProblem();
        var phi = Tensor<double>.FromArray(Enumerable.Range(0, problem.OuterSize).Select(i => 1.0 / (i + 1)).ToArray(), problem.OuterSize);
        foreach (double lambda in new[] { 1e-2, 0.3 })
        {
            var cg = new ConjugateGradient(iterations: 3 * problem.InnerSize, damping: lambda).Estimate(problem, phi, 0);
            Assert.True(cg.Residual < 1e-12, $"CG did not converge: residual {cg.Residual}");
            var kfac = new Kfac(lambda, dampingMode: KfacDamping.Exact).Estimate(problem, phi, 0);
            double error = Quadratic.RelativeError(kfac.Gradient.Span, cg.Gradient.ToArray());
            output.WriteLine($"λ = {lambda}: exact-damped KFAC vs damped CG relative error {error:E2}");
            Assert.InRange(error, 0, 1e-10);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(37)]
    [InlineData(120)]
    public void EigendecompositionReconstructsSymmetricMatrices(int n)
    {
        var random = new CounterRandom(9, n, "eigen");
        // A Gram matrix of rank n/2 (repeated zero eigenvalues) plus a random symmetric part on a copy.
        int rank = Math.Max(1, n / 2);
        var b = new double[n * rank];
        random.FillGaussian<double>(b);
        var gram = new double[n * n];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) for (int k = 0; k < rank; k++) gram[i * n + j] += b[i * rank + k] * b[j * rank + k];
        var symmetric = new double[n * n];
        for (int i = 0; i < n; i++) for (int j = 0; j <= i; j++) symmetric[i * n + j] = symmetric[j * n + i] = random.NextGaussian();
        foreach (var m in new[] { gram, symmetric, new double[n * n] })
        {
            var eigen = KfacEigen.Decompose(m, n, "test matrix");
            var q = eigen.Vectors;
            var reconstructed = new double[n * n];
            var orthogonality = new double[n * n];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    for (int r = 0; r < n; r++)
                    {
                        reconstructed[i * n + j] += q[r * n + i] * eigen.Values[r] * q[r * n + j];
                        orthogonality[i * n + j] += q[i * n + r] * q[j * n + r];
                    }
            double scale = Math.Max(1, Math.Sqrt(m.Sum(x => x * x)));
            Assert.InRange(Math.Sqrt(m.Select((x, i) => (x - reconstructed[i]) * (x - reconstructed[i])).Sum()) / scale, 0, 1e-12);
            Assert.InRange(Math.Sqrt(orthogonality.Select((x, i) => (x - (i / n == i % n ? 1 : 0)) * (x - (i / n == i % n ? 1 : 0))).Sum()), 0, 1e-12);
        }
    }

    [Theory]
    [InlineData(0.05, 0.1, 400, 0.95, 0.9)]
    [InlineData(0.01, 0.3, 600, 0.9, 0.85)]
    public void ApproachesTheConvergedImplicitHypergradientOnAStronglyConvexClassifier(double l2, double learningRate, int steps, double exactBound, double sampledBound)
    {
        // Multinomial logistic regression with weight decay: strongly convex, so θ_T reaches θ* and CG the implicit
        // hypergradient. Σ_i āāᵀ ⊗ (diag p_i − p_i p_iᵀ) is not a Kronecker product, so KFAC is an approximation here.
        using var scope = TensorScope.Begin();
        var problem = new HypercleaningProblem(new Mlp(6, 4), new Shape(6), classes: 4, samples: 48, validation: 32,
            l2: l2, learningRate: learningRate, steps: steps);
        var phi = problem.Phi();
        var cg = new ConjugateGradient(iterations: 200).Estimate(problem, phi, 0);
        Assert.True(cg.Residual < 1e-10, $"the reference CG did not converge: residual {cg.Residual}");
        double stationarity = InnerGradientNorm(problem, phi);
        Assert.True(stationarity < 1e-3 * l2, $"the inner problem was not run to convergence: ‖∇g(θ_T)‖ = {stationarity}");

        var exact = new Kfac(damping: 1e-6).Estimate(problem, phi, 0);
        var exactDamping = new Kfac(damping: 1e-6, dampingMode: KfacDamping.Exact).Estimate(problem, phi, 0);
        var sampled = new Kfac(damping: 1e-6, fisher: KfacFisher.MonteCarlo, samples: 4).Estimate(problem, phi, 0);
        var hf = new HessianFree(alpha: 1 / l2).Estimate(problem, phi, 0);
        double cosExact = Cosine(exact.Gradient.Span, cg.Gradient.Span);
        double cosSampled = Cosine(sampled.Gradient.Span, cg.Gradient.Span);
        double cosHf = Cosine(hf.Gradient.Span, cg.Gradient.Span);
        double errorPi = Quadratic.RelativeError(exact.Gradient.Span, cg.Gradient.ToArray());
        double errorExactDamping = Quadratic.RelativeError(exactDamping.Gradient.Span, cg.Gradient.ToArray());
        output.WriteLine($"ρ = {l2}: cosine with converged CG: KFAC exact Fisher {cosExact:F4} (relative error {errorPi:F3}; with exact damping cosine {Cosine(exactDamping.Gradient.Span, cg.Gradient.Span):F4}, relative error {errorExactDamping:F3}), " +
                         $"KFAC MC(4) {cosSampled:F4}, HF(1/ρ) {cosHf:F4}; ‖∇g(θ_T)‖ = {stationarity:E1}");
        Assert.True(cosExact > exactBound, $"KFAC (exact Fisher) cosine with the implicit hypergradient is {cosExact}");
        Assert.True(cosSampled > sampledBound, $"KFAC (MC Fisher, 4 samples) cosine with the implicit hypergradient is {cosSampled}");
        Assert.True(cosExact > cosHf, $"curvature should help: KFAC {cosExact} vs Hessian-free {cosHf}");
        Assert.True(errorExactDamping < errorPi, $"exact damping adds ρ without the π cross terms and should be closer: {errorExactDamping} vs {errorPi}");
    }

    [Fact]
    public void RunsOnAConvNetAndTendsToHessianFreeAsDampingGrows()
    {
        // For λ → ∞ every block gives q → ∂f/∂θ / λ (the Kronecker blocks through the layout map and back, the
        // instance-norm γ, β through the Rayleigh fallback), so KFAC(λ) tends to HF(α = 1/λ) (f has no direct φ term).
        using var scope = TensorScope.Begin();
        var model = new ConvNet(1, 8, 8, classes: 3, channels: 4, depth: 2);
        var problem = new HypercleaningProblem(model, new Shape(1, 8, 8), classes: 3, samples: 12, validation: 8,
            l2: 0.05, learningRate: 0.05, steps: 100);
        var phi = problem.Phi();
        var kfac = new Kfac(damping: 1e-3).Estimate(problem, phi, 0);
        Assert.True(kfac.IsFinite);
        Assert.Equal(2, kfac.Cost.HvpCount); // the mixed product and the Rayleigh quotient of the γ, β block
        var hf = new HessianFree(alpha: 1e-12).Estimate(problem, phi, 0).Gradient.ToArray();
        // The cross terms of the π-split damping, d_G·A ⊗ I + d_A·I ⊗ G, are O(√λ): the approach is like 1/√λ.
        var large = new Kfac(damping: 1e12).Estimate(problem, phi, 0).Gradient.ToArray();
        double error = Quadratic.RelativeError(large, hf);
        double cosine = Cosine(kfac.Gradient.Span, hf);
        output.WriteLine($"ConvNet: KFAC(1e12) vs HF(1e-12) relative difference {error:E2}; cosine KFAC(1e-3) vs HF {cosine:F4}");
        Assert.InRange(error, 0, 1e-4);
    }

    [Fact]
    public void EveryBlockIsTheExactGaussNewtonBlockForOneSample()
    {
        // For one sample, block l of the GGN of cross-entropy is ā_l ā_lᵀ ⊗ J_lᵀ(diag p − ppᵀ)J_l (J_l = ∂z/∂s_l):
        // exactly A_l ⊗ G_l with the exact Fisher. This checks the probes, the layout map and the scaling of G.
        using var scope = TensorScope.Begin();
        var model = new Mlp(5, 7, 6, 4);
        var theta = model.Initialize<double>(3);
        var random = new CounterRandom(3, 0, "one-sample");
        var xValues = new double[5];
        random.FillGaussian<double>(xValues);
        var x = Tensor<double>.FromArray(xValues, 1, 5);
        const double weight = 0.6;
        var batch = new KfacBatch<double>(model, x, KfacLikelihood.Classification, Tensor<double>.FromArray([weight], 1));
        var factors = KfacFactors.Compute(batch, theta, KfacFisher.Exact, 1, 3, 0);
        var logits = model.Forward(theta, x).ToArray();
        var p = logits.Select(z => Math.Exp(z - logits.Max())).ToArray();
        p = p.Select(e => e / p.Sum()).ToArray();
        for (int l = 0; l < model.KfacLayers.Count; l++)
        {
            var layer = model.KfacLayers[l];
            var f = factors[l];
            var vLayer = new double[layer.OutputSize * layer.FactorInputSize];
            for (int i = 0; i < vLayer.Length; i++) vLayer[i] = random.NextGaussian();
            var vValues = new double[model.Layout.Count];
            layer.FromMatrix(vLayer, vValues);
            // GGN·v = Jᵀ (w·(diag p − ppᵀ)) J v, with J = ∂z/∂θ by forward and reverse mode.
            var (_, jv) = Autodiff.Jvp(t => model.Forward(t[0], x), [theta], [Tensor<double>.FromArray(vValues, vValues.Length)]);
            var u = jv.ToArray();
            double pu = p.Zip(u).Sum(t => t.First * t.Second);
            var lambdaU = u.Select((ui, k) => weight * p[k] * (ui - pu)).ToArray();
            var (_, jtu) = Autodiff.Vjp(t => model.Forward(t[0], x), [theta], Tensor<double>.FromArray(lambdaU, 1, lambdaU.Length));
            var expected = new double[vLayer.Length];
            layer.ToMatrix(jtu[0].Span, expected);
            var predicted = Multiply(Multiply(f.G, vLayer, layer.OutputSize, layer.OutputSize, layer.FactorInputSize), f.A, layer.OutputSize, layer.FactorInputSize, layer.FactorInputSize);
            Assert.InRange(Quadratic.RelativeError(predicted, expected), 0, 1e-12);
        }
    }

    [Fact]
    public void ConvolutionPatchesReproduceTheConvolution()
    {
        // W Σ āāᵀ Wᵀ = Σ s sᵀ over the rows of a convolution's output s = W ā: checks im2col's geometry and ordering.
        using var scope = TensorScope.Begin();
        var model = new ConvNet(2, 6, 5, classes: 3, channels: 3, depth: 1);
        var theta = model.Initialize<double>(5);
        var values = new double[4 * 2 * 6 * 5];
        var random = new CounterRandom(5, 0, "images");
        random.FillGaussian<double>(values);
        var x = Tensor<double>.FromArray(values, 4, 2, 6, 5);
        var capture = new KfacCapture<double>(model.KfacLayers);
        model.Forward(theta, x, capture);
        var conv = model.KfacLayers[0];
        var (sum, rows) = capture.InputSecondMoment(0);
        Assert.Equal(4 * 6 * 5, rows);
        var w = new double[conv.OutputSize * conv.FactorInputSize];
        conv.ToMatrix(theta.Span, w);
        var s = Ops.Conv2d(x, ParameterLayout.View(theta, conv.Weight), ParameterLayout.View(theta, conv.Bias!), 1, Padding.Same);
        var expected = capture.OutputSecondMoment(0, s);
        int d = conv.FactorInputSize, o = conv.OutputSize;
        var predicted = Multiply(Multiply(w, sum, o, d, d), Transpose(w, o, d), o, d, o);
        Assert.InRange(Quadratic.RelativeError(predicted, expected), 0, 1e-12);
    }

    [Fact]
    public void ProbesDoNotChangeTheForwardPass()
    {
        using var scope = TensorScope.Begin();
        var model = new ConvNet(1, 8, 8, classes: 3, channels: 2, depth: 2);
        var theta = model.Initialize<double>(1);
        var x = Tensor<double>.Full(new Shape(2, 1, 8, 8), 0.25);
        var plain = model.Forward(theta, x).ToArray();
        var capture = new KfacCapture<double>(model.KfacLayers);
        Assert.Equal(plain, model.Forward(theta, x, capture).ToArray());
        capture.Probes = capture.ZeroProbes();
        Assert.Equal(plain, model.Forward(theta, x, capture).ToArray());
        Assert.Throws<ArgumentException>(() => model.Forward(theta, x, new KfacCapture<double>(new Mlp(3, 2).KfacLayers)));
    }

    [Fact]
    public void FactorsStayBetweenRefreshesAndAreReplacedAtTheRefresh()
    {
        using var scope = TensorScope.Begin();
        var problem = SmallClassifier();
        var kfac = new Kfac(damping: 1e-3, refreshInterval: 3);
        kfac.Estimate(problem, problem.Phi(0), 0);
        var first = kfac.State!;
        kfac.Estimate(problem, problem.Phi(1), 1);
        kfac.Estimate(problem, problem.Phi(2), 2);
        var held = kfac.State!;
        Assert.Equal(0, held.Step);
        Assert.Equal(first.Layers[0].A, held.Layers[0].A);
        Assert.Equal(first.Layers[^1].G, held.Layers[^1].G);
        kfac.Estimate(problem, problem.Phi(3), 3);
        var refreshed = kfac.State!;
        Assert.Equal(3, refreshed.Step);
        Assert.Equal(2, refreshed.Updates);
        // EMA decay 0 replaces the factors with those of step 3 alone.
        var fresh = new Kfac(damping: 1e-3);
        fresh.Estimate(problem, problem.Phi(3), 3);
        Assert.Equal(fresh.State!.Layers[^1].G, refreshed.Layers[^1].G);
        Assert.NotEqual(first.Layers[^1].G, refreshed.Layers[^1].G);
    }

    [Fact]
    public void RefreshesInReusedBuffersGiveWhatAFreshEstimatorGives()
    {
        using var scope = TensorScope.Begin();
        var problem = SmallClassifier();
        // From step 2 on the factors are written into the arrays the state held two steps before, and the Cholesky
        // factors into the previous step's buffers; none of that may leak into the estimate.
        var reused = new Kfac(damping: 1e-3);
        for (int step = 0; step < 4; step++)
        {
            var expected = new Kfac(damping: 1e-3).Estimate(problem, problem.Phi(step), step).Gradient.ToArray();
            Assert.Equal(expected, reused.Estimate(problem, problem.Phi(step), step).Gradient.ToArray());
        }
        // A snapshot is a copy: later refreshes into the held arrays leave it as it was.
        var snapshot = reused.State!;
        var g = snapshot.Layers[^1].G.ToArray();
        reused.Estimate(problem, problem.Phi(4), 4);
        reused.Estimate(problem, problem.Phi(5), 5);
        Assert.Equal(g, snapshot.Layers[^1].G);
        Assert.NotEqual(g, reused.State!.Layers[^1].G);
    }

    [Fact]
    public void MovingAverageMixesOldAndNewFactors()
    {
        using var scope = TensorScope.Begin();
        var problem = SmallClassifier();
        const double decay = 0.75;
        var averaged = new Kfac(damping: 1e-3, emaDecay: decay);
        averaged.Estimate(problem, problem.Phi(0), 0);
        var old = averaged.State!;
        averaged.Estimate(problem, problem.Phi(1), 1);
        var mixed = averaged.State!;
        var alone = new Kfac(damping: 1e-3);
        alone.Estimate(problem, problem.Phi(1), 1);
        var fresh = alone.State!;
        for (int l = 0; l < mixed.Layers.Count; l++)
        {
            var expectedA = old.Layers[l].A.Select((a, i) => decay * a + (1 - decay) * fresh.Layers[l].A[i]).ToArray();
            var expectedG = old.Layers[l].G.Select((g, i) => decay * g + (1 - decay) * fresh.Layers[l].G[i]).ToArray();
            Assert.InRange(Quadratic.RelativeError(mixed.Layers[l].A, expectedA), 0, 1e-14);
            Assert.InRange(Quadratic.RelativeError(mixed.Layers[l].G, expectedG), 0, 1e-14);
        }
        Assert.Equal(2, mixed.Updates);
    }

    [Fact]
    public void PiDampingSplitsLambdaByTheFactorsAverageEigenvalues()
    {
        var f = new KfacLayerFactors("l", 2, 3, [4, 1, 1, 2], [0.5, 0, 0, 0, 0.25, 0, 0, 0, 0.75]);
        var (da, dg) = Kfac.Split(f, 1e-2, piDamping: true);
        double pi = Math.Sqrt((6.0 / 2) / (1.5 / 3));
        Assert.Equal(pi * 0.1, da, 1e-15);
        Assert.Equal(0.1 / pi, dg, 1e-15);
        Assert.Equal(1e-2, da * dg, 1e-15);
        Assert.Equal((0.1, 0.1), Kfac.Split(f, 1e-2, piDamping: false));
        // A vanishing factor leaves π undefined: the split falls back to even.
        var dead = f with { G = new double[9] };
        Assert.Equal((0.1, 0.1), Kfac.Split(dead, 1e-2, piDamping: true));
    }

    [Fact]
    public void SnapshotRoundTripsThroughJsonAndResumesIdentically()
    {
        using var scope = TensorScope.Begin();
        var problem = SmallClassifier();
        var original = new Kfac(damping: 1e-3, refreshInterval: 5, emaDecay: 0.5);
        original.Estimate(problem, problem.Phi(0), 0);
        var json = JsonSerializer.Serialize(original.State);
        var resumed = new Kfac(damping: 1e-3, refreshInterval: 5, emaDecay: 0.5);
        resumed.Restore(JsonSerializer.Deserialize<KfacState>(json));
        var expected = original.Estimate(problem, problem.Phi(2), 2).Gradient.ToArray();
        Assert.Equal(expected, resumed.Estimate(problem, problem.Phi(2), 2).Gradient.ToArray());
        // Factors of another model are refused at the next estimate, with the layers named.
        var other = new Kfac(damping: 1e-3);
        other.Restore(new KfacState(0, 1, [new KfacLayerFactors("layer0", 2, 2, new double[4], new double[4])]));
        var error = Assert.Throws<ArgumentException>(() => other.Estimate(problem, problem.Phi(0), 0));
        Assert.Contains("layer0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MonteCarloFisherIsReproducibleAndApproachesTheExactOne()
    {
        using var scope = TensorScope.Begin();
        var problem = SmallClassifier();
        var phi = problem.Phi();
        var theta = problem.InitialTheta(0);
        var batch = problem.KfacBatch(phi, 0, problem.UnrollSteps);
        var exact = KfacFactors.Compute(batch, theta, KfacFisher.Exact, 1, problem.Seed, 0);
        var once = KfacFactors.Compute(batch, theta, KfacFisher.MonteCarlo, 2, problem.Seed, 4);
        var again = KfacFactors.Compute(batch, theta, KfacFisher.MonteCarlo, 2, problem.Seed, 4);
        var otherStep = KfacFactors.Compute(batch, theta, KfacFisher.MonteCarlo, 2, problem.Seed, 5);
        var many = KfacFactors.Compute(batch, theta, KfacFisher.MonteCarlo, 400, problem.Seed, 4);
        Assert.Equal(once[0].G, again[0].G);
        Assert.NotEqual(once[0].G, otherStep[0].G);
        Assert.Equal(exact[0].A, many[0].A); // A does not depend on the labels
        for (int l = 0; l < exact.Length; l++)
        {
            double few = Quadratic.RelativeError(once[l].G, exact[l].G), lots = Quadratic.RelativeError(many[l].G, exact[l].G);
            output.WriteLine($"layer {l}: MC G relative error, 2 samples {few:E2}, 400 samples {lots:E2}");
            Assert.True(lots < few, $"layer {l}: more samples should be closer to the exact Fisher ({few} vs {lots})");
            Assert.InRange(lots, 0, 0.15);
        }
    }

    [Fact]
    public void ProblemsWithoutKfacInformationAreRefused()
    {
        using var scope = TensorScope.Begin();
        var error = Assert.Throws<ArgumentException>(() => new Kfac(1e-3).Estimate(Quadratic.Problem(steps: 2), Quadratic.PhiTensor(), 0));
        Assert.Contains("IKfacProblem", error.Message, StringComparison.Ordinal);
    }

    private static HypercleaningProblem SmallClassifier()
        => new(new Mlp(4, 6, 3), new Shape(4), classes: 3, samples: 16, validation: 8, l2: 0.05, learningRate: 0.1, steps: 20);

    private static double InnerGradientNorm(HypercleaningProblem problem, Tensor<double> phi)
    {
        var theta = InnerDynamics.Run(problem, InnerDynamics.Start(problem, 0), phi, 0, 1, problem.UnrollSteps).Theta;
        var g = InnerDynamics.InnerGradient(problem, theta, phi, 0, problem.UnrollSteps).ToArray();
        return Math.Sqrt(g.Sum(v => v * v));
    }

    private static double Cosine(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            ab += a[i] * b[i];
            aa += a[i] * a[i];
            bb += b[i] * b[i];
        }
        return ab / Math.Sqrt(aa * bb);
    }

    /// <summary>[r, k] · [k, c], row-major.</summary>
    private static double[] Multiply(double[] a, double[] b, int r, int k, int c)
    {
        var result = new double[r * c];
        for (int i = 0; i < r; i++)
            for (int l = 0; l < k; l++)
                for (int j = 0; j < c; j++)
                    result[i * c + j] += a[i * k + l] * b[l * c + j];
        return result;
    }

    private static double[] Transpose(double[] m, int rows, int cols)
    {
        var t = new double[m.Length];
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) t[j * rows + i] = m[i * cols + j];
        return t;
    }
}

/// <summary>Impossible KFAC options are rejected with an ArgumentException that names the option.</summary>
public sealed class KfacBadInputTests
{
    public static TheoryData<Func<object>, string> Cases => new()
    {
        { () => new Kfac(0), "damping" },
        { () => new Kfac(-1e-3), "damping" },
        { () => new Kfac(double.NaN), "damping" },
        { () => new Kfac(double.PositiveInfinity), "damping" },
        { () => new Kfac(1e-3, refreshInterval: 0), "refreshInterval" },
        { () => new Kfac(1e-3, emaDecay: 1), "emaDecay" },
        { () => new Kfac(1e-3, emaDecay: -0.1), "emaDecay" },
        { () => new Kfac(1e-3, fisher: (KfacFisher)7), "fisher" },
        { () => new Kfac(1e-3, fisher: KfacFisher.MonteCarlo, samples: 0), "samples" },
        { () => new Kfac(1e-3, dampingMode: (KfacDamping)9), "dampingMode" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ImpossibleOptionsAreRejectedByName(Func<object> create, string option)
    {
        var error = Assert.ThrowsAny<ArgumentException>(create);
        Assert.Contains(option, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NegativeSampleWeightsAreRejected()
    {
        using var scope = TensorScope.Begin();
        var model = new Mlp(2, 2);
        var batch = new KfacBatch<double>(model, Tensor<double>.Zeros(3, 2), KfacLikelihood.Regression, Tensor<double>.FromArray([1.0, -0.5, 1.0], 3));
        var error = Assert.Throws<ArgumentException>(() => KfacFactors.Compute(batch, model.Initialize<double>(1), KfacFisher.Exact, 1, 1, 0));
        Assert.Contains("weight", error.Message, StringComparison.Ordinal);
    }
}
