using System.Numerics;
using Bilevel.Hypergradients;
using Bilevel.Nn;
using Bilevel.Nn.Optimizers;
using Bilevel.Tensors;

namespace Bilevel.Tasks.Hypercleaning;

/// <summary>How per-example weights are made from φ.</summary>
public enum WeightMap
{
    /// <summary>w = σ(φ), smooth, φ unconstrained.</summary>
    Sigmoid,

    /// <summary>w = clamp(φ, 0, 1), the paper's projection variant.</summary>
    Clamp,
}

/// <summary>
/// Data hypercleaning: φ ∈ ℝⁿ weighs each (possibly mislabelled) training example, the inner problem trains a
/// linear model or MLP on the weighted training loss, the outer loss is the cross-entropy on clean validation data.
/// g(θ, φ; ξ_t) = Σ_{i∈ξ_t} w_i ℓ(θ; x_i, ỹ_i) / |ξ_t| + (ρ/2)‖θ‖², f(θ) = mean_{val} ℓ(θ; x, y), w = σ(φ) or
/// clamp(φ, 0, 1). The decay is part of g, not of the optimizer, so that the implicit estimators' Hessian of g is
/// the Hessian at the point the inner optimizer converges to. Minibatch ξ_t of inner step t at outer step k comes
/// from the counter-based generator keyed by (seed, k).
/// </summary>
public sealed class HypercleaningProblem<T> : IKfacProblem<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly HypercleaningData data;
    private readonly Tensor<T> trainImages;
    private readonly Tensor<T> validationImages;
    private readonly int batchSize;
    private readonly double learningRate;
    private readonly double weightDecay;

    public HypercleaningProblem(HypercleaningData data, IKfacModel model, IInnerOptimizer optimizer, int unrollSteps, int batchSize,
        double learningRate, double weightDecay, WeightMap weights, ulong seed)
    {
        this.data = data;
        Model = model;
        Optimizer = optimizer;
        UnrollSteps = unrollSteps;
        this.batchSize = batchSize <= 0 ? data.Train.Count : batchSize;
        this.learningRate = learningRate;
        this.weightDecay = weightDecay;
        Weights = weights;
        Seed = seed;
        trainImages = data.Train.FlatImageBatch<T>(Enumerable.Range(0, data.Train.Count).ToArray());
        validationImages = data.Validation.FlatImageBatch<T>(Enumerable.Range(0, data.Validation.Count).ToArray());
    }

    public IKfacModel Model { get; }

    public WeightMap Weights { get; }

    public HypercleaningData Data => data;

    public int InnerSize => Model.Layout.Count;

    public int OuterSize => data.Train.Count;

    public int UnrollSteps { get; }

    public ulong Seed { get; }

    public IInnerOptimizer Optimizer { get; }

    /// <summary>Every example starts at weight ½ (σ(0)) or 1 (clamped).</summary>
    public Tensor<T> InitialPhi() => Weights == WeightMap.Sigmoid ? Tensor<T>.Zeros(OuterSize) : Tensor<T>.Full(new Shape(OuterSize), T.One);

    public Tensor<T> InitialTheta(long outerStep) => Model.Initialize<T>(Seed ^ (ulong)outerStep * 0x9E3779B97F4A7C15UL);

    public StepSize<T> StepSize(Tensor<T> phi, int step) => new(Tensor<T>.Scalar(T.CreateChecked(learningRate)));

    /// <summary>The training examples of inner step t: a window of a per-outer-step permutation, or all of them.</summary>
    public int[] InnerBatch(long outerStep, int step)
    {
        int n = data.Train.Count;
        if (batchSize >= n) return Enumerable.Range(0, n).ToArray();
        var permutation = new CounterRandom(Seed, outerStep, "inner-batches").Permutation(n);
        int batchesPerEpoch = n / batchSize;
        int start = (step - 1) % batchesPerEpoch * batchSize;
        return permutation[start..(start + batchSize)];
    }

    public Tensor<T> ExampleWeights(Tensor<T> phi) => Weights == WeightMap.Sigmoid ? Ops.Sigmoid(phi) : Ops.Clamp(phi, T.Zero, T.One);

    public Tensor<T> InnerLoss(Tensor<T> theta, Tensor<T> phi, long outerStep, int step)
    {
        var batch = InnerBatch(outerStep, step);
        var w = Ops.Gather(ExampleWeights(phi), 0, batch);
        var loss = Ops.CrossEntropy(Model.Forward(theta, BatchImages(batch)), data.Train.LabelBatch(batch), w);
        return weightDecay > 0 ? Ops.Add(loss, Ops.Scale(Ops.SquaredNorm(theta), T.CreateChecked(weightDecay / 2))) : loss;
    }

    /// <summary>The model, inputs and weights of inner step t, for KFAC's curvature factors.</summary>
    public KfacBatch<T> KfacBatch(Tensor<T> phi, long outerStep, int step)
    {
        var batch = InnerBatch(outerStep, step);
        return new KfacBatch<T>((IKfacModel)Model, BatchImages(batch), KfacLikelihood.Classification, Ops.Gather(ExampleWeights(phi), 0, batch), weightDecay);
    }

    private Tensor<T> BatchImages(int[] batch) => batch.Length == data.Train.Count ? trainImages : Ops.Gather(trainImages, 0, batch);

    public Tensor<T> OuterLoss(Tensor<T> theta, Tensor<T> phi, long outerStep)
        => Ops.CrossEntropy(Model.Forward(theta, validationImages), data.Validation.Labels);

    /// <summary>
    /// The validation set in parts of at most an inner batch, so that the outer gradient's activations are no larger
    /// than an inner step's (1000 validation examples took 8.6 parameter vectors' worth of memory, the largest
    /// phase of the implicit estimators).
    /// </summary>
    public int OuterParts => Math.Max(1, (data.Validation.Count + batchSize - 1) / batchSize);

    /// <summary>The mean cross-entropy of part p's examples, weighted by its share of the validation set: Σ_p f_p = f.</summary>
    public Tensor<T> OuterLossPart(Tensor<T> theta, Tensor<T> phi, long outerStep, int part)
    {
        int n = data.Validation.Count, parts = OuterParts;
        int start = (int)((long)n * part / parts), end = (int)((long)n * (part + 1) / parts);
        var loss = Ops.CrossEntropy(Model.Forward(theta, Ops.Slice(validationImages, 0, start, end - start)), data.Validation.Labels[start..end]);
        return Ops.Scale(loss, T.CreateChecked((double)(end - start) / n));
    }
}
