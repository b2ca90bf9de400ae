using System.Numerics;
using Bilevel.Hypergradients;
using Bilevel.Nn;
using Bilevel.Nn.Optimizers;
using Bilevel.Tasks.Data;
using Bilevel.Tensors;

namespace Bilevel.Tasks.Condensation;

/// <summary>
/// Dataset condensation: φ holds IPC synthetic images per class (and, optionally, learnable soft-label logits and
/// the log of the inner learning rate). The inner problem trains the ConvNet from scratch on the synthetic set for T
/// steps; the outer loss is the cross-entropy of that network on a batch of real training images (drawn per outer
/// step from the counter-based generator).
/// </summary>
/// <remarks>
/// KFAC (<see cref="KfacBatch"/>) sees the inner loss as the ConvNet's softmax cross-entropy on the synthetic images,
/// unweighted, without L2, in every configuration: with learned labels the targets are soft, y_i = softmax(label
/// logits_i), but the Hessian of CE(z, y) = logsumexp(z) − ⟨z, y⟩ in the logits is diag(p) − ppᵀ for every y on the
/// simplex, the same as with hard labels and the same as the classification Fisher, so the factors are those of the
/// loss the inner problem minimises. A learned learning rate scales the inner steps, not the inner loss: the implicit
/// estimators, KFAC among them, give it a hypergradient of 0.
/// </remarks>
public sealed class CondensationProblem<T> : IKfacProblem<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly LabeledImages train;
    private readonly int[] syntheticLabels;
    private readonly int realBatch;
    private readonly double learningRate;
    private readonly ParameterBlock images;
    private readonly ParameterBlock? labelLogits;
    private readonly ParameterBlock? logLearningRate;

    public CondensationProblem(LabeledImages train, LabeledImages test, ConvNet model, IInnerOptimizer optimizer, int imagesPerClass, int unrollSteps,
        double learningRate, int realBatch, bool learnLabels, bool learnLearningRate, ulong seed)
    {
        this.train = train;
        Test = test;
        Model = model;
        Optimizer = optimizer;
        ImagesPerClass = imagesPerClass;
        UnrollSteps = unrollSteps;
        this.learningRate = learningRate;
        this.realBatch = realBatch;
        Seed = seed;
        Classes = Math.Max(2, train.ClassCount);
        int count = Classes * imagesPerClass;
        syntheticLabels = Enumerable.Range(0, count).Select(i => i / imagesPerClass).ToArray();
        images = Outer.Add("images", count, train.Channels, train.Height, train.Width);
        if (learnLabels) labelLogits = Outer.Add("label-logits", count, Classes);
        if (learnLearningRate) logLearningRate = Outer.Add("log-learning-rate", 1);
    }

    public ConvNet Model { get; }

    /// <summary>The real training images: where the synthetic ones start from and what the outer loss samples.</summary>
    public LabeledImages Train => train;

    public LabeledImages Test { get; }

    public int Classes { get; }

    public int ImagesPerClass { get; }

    /// <summary>Where each part of φ lives.</summary>
    public ParameterLayout Outer { get; } = new();

    public int InnerSize => Model.Layout.Count;

    public int OuterSize => Outer.Count;

    public int UnrollSteps { get; }

    public ulong Seed { get; }

    public IInnerOptimizer Optimizer { get; }

    /// <summary>Synthetic images start as real images of their class (drawn by the seed); labels one-hot; η as configured.</summary>
    public Tensor<T> InitialPhi()
    {
        var phi = Tensor<T>.Zeros(OuterSize);
        var span = phi.Span;
        var random = new CounterRandom(Seed, 0, "condensation-init");
        var byClass = Enumerable.Range(0, Classes).Select(c => Enumerable.Range(0, train.Count).Where(i => train.Labels[i] == c).ToArray()).ToArray();
        int size = train.ImageSize;
        for (int i = 0; i < syntheticLabels.Length; i++)
        {
            var pool = byClass[syntheticLabels[i]];
            var source = pool.Length == 0 ? new float[size] : train.Image(pool[random.NextInt(pool.Length)]);
            for (int j = 0; j < size; j++) span[images.Offset + i * size + j] = T.CreateChecked(source[j]);
        }
        if (labelLogits is { } l)
            for (int i = 0; i < syntheticLabels.Length; i++) span[l.Offset + i * Classes + syntheticLabels[i]] = T.CreateChecked(4.0);
        if (logLearningRate is { } lr) span[lr.Offset] = T.CreateChecked(Math.Log(learningRate));
        return phi;
    }

    public Tensor<T> InitialTheta(long outerStep) => Model.Initialize<T>(Seed ^ (ulong)outerStep * 0x9E3779B97F4A7C15UL);

    public StepSize<T> StepSize(Tensor<T> phi, int step)
        => new(logLearningRate is { } lr ? Ops.Exp(ParameterLayout.View(phi, lr)) : Tensor<T>.Scalar(T.CreateChecked(learningRate)));

    /// <summary>The synthetic images of φ, [IPC·classes, C, H, W].</summary>
    public Tensor<T> SyntheticImages(Tensor<T> phi) => ParameterLayout.View(phi, images);

    public Tensor<T> InnerLoss(Tensor<T> theta, Tensor<T> phi, long outerStep, int step)
    {
        var logits = Model.Forward(theta, SyntheticImages(phi));
        return labelLogits is { } l
            ? Ops.CrossEntropy(logits, Ops.Softmax(ParameterLayout.View(phi, l), 1))
            : Ops.CrossEntropy(logits, syntheticLabels);
    }

    /// <summary>
    /// The synthetic set as KFAC needs it (the same at every inner step): the ConvNet on the synthetic images of φ,
    /// softmax cross-entropy, hard or soft labels alike (see the remarks on the class), no sample weights, no L2.
    /// </summary>
    public KfacBatch<T> KfacBatch(Tensor<T> phi, long outerStep, int step) => new(Model, SyntheticImages(phi), KfacLikelihood.Classification);

    /// <summary>The indices into <see cref="Train"/> of outer step k's real batch (drawn with replacement).</summary>
    public int[] RealBatch(long outerStep)
    {
        var random = new CounterRandom(Seed, outerStep, "real-batch");
        return Enumerable.Range(0, Math.Min(realBatch, train.Count)).Select(_ => random.NextInt(train.Count)).ToArray();
    }

    /// <summary>Cross-entropy on a batch of real training images, drawn per outer step.</summary>
    public Tensor<T> OuterLoss(Tensor<T> theta, Tensor<T> phi, long outerStep)
    {
        var batch = RealBatch(outerStep);
        return Ops.CrossEntropy(Model.Forward(theta, train.ImageBatch<T>(batch)), train.LabelBatch(batch));
    }

    /// <summary>
    /// The real batch in parts of at most as many images as the synthetic set, so that the outer gradient's
    /// activations are no larger than an inner step's (a batch of 256 real images against 100 synthetic ones held
    /// 242 MiB of ConvNet activations at width 32, and buffers of sizes no inner step reuses).
    /// </summary>
    public int OuterParts => Math.Max(1, (Math.Min(realBatch, train.Count) + syntheticLabels.Length - 1) / syntheticLabels.Length);

    /// <summary>The mean cross-entropy of part p's images, weighted by its share of the batch: Σ_p f_p = f.</summary>
    public Tensor<T> OuterLossPart(Tensor<T> theta, Tensor<T> phi, long outerStep, int part)
    {
        var batch = RealBatch(outerStep);
        int parts = OuterParts, start = (int)((long)batch.Length * part / parts), end = (int)((long)batch.Length * (part + 1) / parts);
        var images = batch[start..end];
        var loss = Ops.CrossEntropy(Model.Forward(theta, train.ImageBatch<T>(images)), train.LabelBatch(images));
        return Ops.Scale(loss, T.CreateChecked((double)images.Length / batch.Length));
    }

    /// <summary>Trains a fresh network on the synthetic set (the problem's inner dynamics) and returns its test accuracy.</summary>
    public double Evaluate(Tensor<T> phi, int evaluations = 1)
    {
        double total = 0;
        for (int e = 0; e < evaluations; e++)
        {
            using var scope = TensorScope.Begin();
            long key = -1 - e;
            var final = InnerDynamics.Run(this, InnerDynamics.Start(this, key), phi, key, 1, UnrollSteps);
            total += Accuracy(final.Theta);
        }
        return total / evaluations;
    }

    private double Accuracy(Tensor<T> theta)
    {
        int correct = 0;
        const int chunk = 500;
        for (int start = 0; start < Test.Count; start += chunk)
        {
            using var scope = TensorScope.Begin();
            int n = Math.Min(chunk, Test.Count - start);
            var logits = Model.Forward(theta, Test.ImageBatch<T>(start, n)).Span;
            for (int i = 0; i < n; i++)
            {
                var row = logits.Slice(i * Classes, Classes);
                int best = 0;
                for (int c = 1; c < Classes; c++) if (row[c] > row[best]) best = c;
                if (best == Test.Labels[start + i]) correct++;
            }
        }
        return Test.Count == 0 ? 0 : (double)correct / Test.Count;
    }
}
