using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using System.Text.Json;
using Bilevel.Hypergradients;
using Bilevel.Hypergradients.Estimators;
using Bilevel.Nn;
using Bilevel.Tasks.Condensation;
using Bilevel.Tensors;

namespace Bilevel.Tasks.Tests.Condensation;

/// <summary>
/// KFAC on condensation (<see cref="CondensationProblem{T}.KfacBatch"/>): it runs, with hard or learned soft labels
/// and a learned learning rate, and its hypergradient points the way RGU's does; the soft labels leave the loss's
/// curvature in the logits, which KFAC's classification Fisher stands for, as the hard labels have it.
/// </summary>
public sealed class CondensationKfacTests
{
    private const string LearnLabels = """, "learnLabels": true""";
    private const string LearnEverything = """, "learnLabels": true, "learnLearningRate": true""";

    /// <summary>
    /// Trained long enough (T = 50 at η = 0.1) that θ_T is near enough an inner minimum for the implicit function
    /// theorem to say something: after 20 steps at η = 0.05, CG's and Neumann's cosines with RGU are as often
    /// negative as positive, and KFAC's with them. Here KFAC's is 0.25 (hard labels) and 0.42 (learned labels and η).
    /// </summary>
    private static CondensationProblem<double> Small(string extra)
        => (CondensationProblem<double>)TaskCatalog.Create<double>(TaskCatalog.Condensation, JsonDocument.Parse(
            $$"""{ "imagesPerClass": 1, "channels": 8, "depth": 2, "unrollSteps": 50, "trainSize": 500, "testSize": 0, "realBatch": 64, "learningRate": 0.1 {{extra}} }""").RootElement, seed: 5);

    [Theory]
    [InlineData("")]
    [InlineData(LearnLabels)]
    [InlineData(LearnEverything)]
    public void KfacHypergradientPointsTheWayRguDoes(string extra)
    {
        using var scope = TensorScope.Begin();
        var problem = Small(extra);
        var phi = problem.InitialPhi();
        var kfac = new Kfac(damping: 0.01).Estimate(problem, phi, outerStep: 1);
        var rgu = new ReverseUnrolling().Estimate(problem, phi, outerStep: 1);

        Assert.Equal(problem.OuterSize, kfac.Gradient.Length);
        Assert.Equal(rgu.OuterLoss, kfac.OuterLoss, 1e-12);
        double cosine = TensorPrimitives.CosineSimilarity<double>(kfac.Gradient.Span, rgu.Gradient.Span);
        Assert.True(cosine > 0, $"cos(KFAC, RGU) = {cosine} with {extra}");
    }

    [Fact]
    public void KfacGivesALearnedLearningRateNoHypergradient()
    {
        using var scope = TensorScope.Begin();
        var problem = Small(LearnEverything);
        var gradient = new Kfac(damping: 0.01).Estimate(problem, problem.InitialPhi(), outerStep: 1).Gradient;
        var logLearningRate = problem.Outer.Blocks.Single(b => b.Name == "log-learning-rate");
        Assert.Equal(0.0, ParameterLayout.View(gradient, logLearningRate).Item());
    }

    [Fact]
    public void KfacBatchIsTheSyntheticSetUnweightedWithoutL2()
    {
        using var scope = TensorScope.Begin();
        var problem = Small(LearnEverything);
        var phi = problem.InitialPhi();
        var batch = problem.KfacBatch(phi, outerStep: 1, step: problem.UnrollSteps);
        Assert.Same(problem.Model, batch.Model);
        Assert.Equal(KfacLikelihood.Classification, batch.Likelihood);
        Assert.Null(batch.SampleWeights);
        Assert.Equal(0.0, batch.L2);
        Assert.Equal(problem.SyntheticImages(phi).ToArray(), batch.Inputs.ToArray());
    }

    /// <summary>
    /// The Hessian in the logits of the soft-label loss, CE(z, softmax(L)), is that of CE(z, y) with hard labels
    /// (diag(p) − ppᵀ per row): what lets KFAC's classification Fisher stand for the soft-label inner loss.
    /// </summary>
    [Fact]
    public void SoftLabelsLeaveTheCurvatureInTheLogitsAsHardLabelsHaveIt()
    {
        using var scope = TensorScope.Begin();
        const int n = 6, k = 10;
        var random = new CounterRandom(3, 0, "soft-label-curvature");
        var logits = Tensor<double>.Zeros(n, k);
        var labelLogits = Tensor<double>.Zeros(n, k);
        var direction = Tensor<double>.Zeros(n, k);
        random.FillGaussian(logits.Span, std: 2);
        random.FillGaussian(labelLogits.Span, std: 2);
        random.FillGaussian(direction.Span);
        int[] labels = [.. Enumerable.Range(0, n).Select(i => i % k)];

        var soft = HessianVectorProduct(z => Ops.CrossEntropy(z, Ops.Softmax(labelLogits, 1)), logits, direction);
        var hard = HessianVectorProduct(z => Ops.CrossEntropy(z, labels), logits, direction);

        Assert.True(TensorPrimitives.Norm<double>(hard) > 1e-3, "the hard-label Hessian-vector product vanishes");
        for (int i = 0; i < soft.Length; i++) Assert.Equal(hard[i], soft[i], 1e-12);
    }

    private static double[] HessianVectorProduct(Func<Tensor<double>, Tensor<double>> loss, Tensor<double> at, Tensor<double> direction)
        => Autodiff.Jvp(z => Autodiff.Grad(a => loss(a[0]), z[0])[0], [at], [direction]).Tangent.ToArray();
}
