using System.Numerics;
using Bilevel.Hypergradients;
using Bilevel.Nn;
using Bilevel.Nn.Optimizers;
using Bilevel.Tensors;

namespace Bilevel.Tasks.Hpo;

/// <summary>
/// Hyperparameter optimisation: φ = [decay | log η_1..η_T] (either part may be absent). The inner problem trains an
/// MLP for T steps on g(θ, φ; ξ_t) = CE(θ; ξ_t) + ½ Σ_j λ_j(φ) θ_j², with λ = softplus or exp of the decay part of φ
/// broadcast per parameter (one value, one per layer, or one per parameter), and inner step t uses η_t = exp(φ_T+t)
/// when the schedule is learned. The outer loss is the cross-entropy on the whole validation set.
/// </summary>
/// <remarks>
/// The decay is part of g rather than of the optimizer's update, so that the implicit estimators (HF, Neumann, CG),
/// which see φ only through ∇²_φθ g, get its mixed derivative. A learned schedule enters the dynamics but not g, so
/// those estimators return 0 for its entries: only unrolling (RGU, TRGU, FGU, (FG)²U) can learn it.
/// Minibatch ξ_t of inner step t at outer step k comes from the counter-based generator keyed by (seed, k).
/// </remarks>
public sealed class HpoProblem<T> : IBilevelProblem<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly HpoConfig config;
    private readonly Tensor<T> trainImages;
    private readonly Tensor<T> validationImages;
    private readonly int batchSize;
    private readonly int[] layerOfParameter;
    private readonly ParameterBlock? decay;
    private readonly ParameterBlock? schedule;

    public HpoProblem(HpoData data, Mlp model, IInnerOptimizer optimizer, HpoConfig config, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(config);
        Data = data;
        Model = model;
        Optimizer = optimizer;
        this.config = config;
        Seed = seed;
        UnrollSteps = config.UnrollSteps;
        batchSize = config.BatchSize <= 0 ? data.Train.Count : Math.Min(config.BatchSize, data.Train.Count);
        layerOfParameter = LayerIndex(model.Layout, out int layers);
        LayerCount = layers;
        int decaySize = config.WeightDecay switch
        {
            DecayGranularity.Global => 1,
            DecayGranularity.PerLayer => layers,
            DecayGranularity.PerParameter => model.Layout.Count,
            _ => 0,
        };
        if (decaySize > 0) decay = Outer.Add("decay", decaySize);
        if (config.LearnSchedule) schedule = Outer.Add("log-learning-rate", config.UnrollSteps);
        trainImages = data.Train.FlatImageBatch<T>(Enumerable.Range(0, data.Train.Count).ToArray());
        validationImages = data.Validation.FlatImageBatch<T>(Enumerable.Range(0, data.Validation.Count).ToArray());
    }

    public HpoData Data { get; }

    public Mlp Model { get; }

    /// <summary>Layers of the MLP (a weight matrix and its bias each).</summary>
    public int LayerCount { get; }

    /// <summary>Where each part of φ lives: "decay" and/or "log-learning-rate".</summary>
    public ParameterLayout Outer { get; } = new();

    public DecayGranularity Decay => config.WeightDecay;

    public bool LearnsSchedule => schedule is not null;

    public int InnerSize => Model.Layout.Count;

    public int OuterSize => Outer.Count;

    public int UnrollSteps { get; }

    public ulong Seed { get; }

    public IInnerOptimizer Optimizer { get; }

    /// <summary>Every λ starts at the configured initial decay and every η_t at the configured learning rate.</summary>
    public Tensor<T> InitialPhi()
    {
        var phi = Tensor<T>.Zeros(OuterSize);
        var span = phi.Span;
        if (decay is { } d)
        {
            double lambda = config.InitialDecay;
            // softplus⁻¹(λ) = log(eᵡ − 1), written with expm1 for small λ.
            double value = config.DecayTransform == DecayTransform.Exp ? Math.Log(lambda) : lambda > 30 ? lambda : Math.Log(double.ExpM1(lambda));
            span.Slice(d.Offset, d.Length).Fill(T.CreateChecked(value));
        }
        if (schedule is { } s) span.Slice(s.Offset, s.Length).Fill(T.CreateChecked(Math.Log(config.LearningRate)));
        return phi;
    }

    public Tensor<T> InitialTheta(long outerStep) => Model.Initialize<T>(Seed ^ (ulong)outerStep * 0x9E3779B97F4A7C15UL);

    public StepSize<T> StepSize(Tensor<T> phi, int step)
    {
        if (schedule is not { } s) return new(Tensor<T>.Scalar(T.CreateChecked(config.LearningRate)));
        if (step < 1 || step > s.Length) throw new ArgumentOutOfRangeException(nameof(step), step, $"hpo: the schedule covers inner steps 1..{s.Length}.");
        return new(Ops.Exp(Ops.Slice(phi, 0, s.Offset + step - 1, 1)));
    }

    /// <summary>λ for every parameter, shape [M] (or [1] for a global or fixed decay); null when there is no decay at all.</summary>
    public Tensor<T>? DecayPerParameter(Tensor<T> phi)
    {
        if (decay is not { } d)
            return config.InitialDecay > 0 ? Tensor<T>.Full(new Shape(1), T.CreateChecked(config.InitialDecay)) : null;
        var raw = Ops.Slice(phi, 0, d.Offset, d.Length);
        var lambda = config.DecayTransform == DecayTransform.Exp ? Ops.Exp(raw) : Ops.Softplus(raw);
        return config.WeightDecay == DecayGranularity.PerLayer ? Ops.Gather(lambda, 0, layerOfParameter) : lambda;
    }

    /// <summary>The training examples of inner step t: a window of a per-outer-step permutation, or all of them.</summary>
    public int[] InnerBatch(long outerStep, int step)
    {
        int n = Data.Train.Count;
        if (batchSize >= n) return Enumerable.Range(0, n).ToArray();
        var permutation = new CounterRandom(Seed, outerStep, "inner-batches").Permutation(n);
        int start = (step - 1) % (n / batchSize) * batchSize;
        return permutation[start..(start + batchSize)];
    }

    public Tensor<T> InnerLoss(Tensor<T> theta, Tensor<T> phi, long outerStep, int step)
    {
        var batch = InnerBatch(outerStep, step);
        var x = batch.Length == Data.Train.Count ? trainImages : Ops.Gather(trainImages, 0, batch);
        var loss = Ops.CrossEntropy(Model.Forward(theta, x), Data.Train.LabelBatch(batch));
        if (DecayPerParameter(phi) is not { } lambda) return loss;
        return Ops.Add(loss, Ops.Scale(Ops.Sum(Ops.Mul(lambda, Ops.Mul(theta, theta))), T.CreateChecked(0.5)));
    }

    public Tensor<T> OuterLoss(Tensor<T> theta, Tensor<T> phi, long outerStep)
        => Ops.CrossEntropy(Model.Forward(theta, validationImages), Data.Validation.Labels);

    /// <summary>Trains a fresh network with φ's hyperparameters (the problem's own inner dynamics) and scores it.</summary>
    public HpoReport Evaluate(Tensor<T> phi, long evaluationKey = -1)
    {
        ArgumentNullException.ThrowIfNull(phi);
        using var scope = TensorScope.Begin();
        var final = InnerDynamics.Run(this, InnerDynamics.Start(this, evaluationKey), phi, evaluationKey, 1, UnrollSteps);
        double validationLoss = OuterLoss(final.Theta, phi, evaluationKey).ItemAsDouble();
        var test = Data.Test;
        double accuracy = 0;
        if (test.Count > 0)
        {
            var logits = Model.Forward(final.Theta, test.FlatImageBatch<T>(Enumerable.Range(0, test.Count).ToArray()));
            int classes = logits.Shape[1], correct = 0;
            var span = logits.Span;
            for (int i = 0; i < test.Count; i++)
            {
                var row = span.Slice(i * classes, classes);
                int best = 0;
                for (int c = 1; c < classes; c++) if (row[c] > row[best]) best = c;
                if (best == test.Labels[i]) correct++;
            }
            accuracy = (double)correct / test.Count;
        }
        var decayByLayer = new double[LayerCount];
        if (DecayPerParameter(phi) is { } lambda)
        {
            var values = lambda.Span;
            var counts = new int[LayerCount];
            for (int j = 0; j < layerOfParameter.Length; j++)
            {
                decayByLayer[layerOfParameter[j]] += double.CreateChecked(values[values.Length == 1 ? 0 : j]);
                counts[layerOfParameter[j]]++;
            }
            for (int l = 0; l < LayerCount; l++) decayByLayer[l] /= Math.Max(1, counts[l]);
        }
        var learningRates = Enumerable.Range(1, UnrollSteps).Select(t => StepSize(phi, t).LearningRate.ItemAsDouble()).ToArray();
        return new HpoReport(accuracy, validationLoss, decayByLayer, learningRates);
    }

    /// <summary>The layer of each parameter, from the block names "layer{l}.weight" / "layer{l}.bias" in layout order.</summary>
    private static int[] LayerIndex(ParameterLayout layout, out int layers)
    {
        var index = new int[layout.Count];
        var names = new List<string>();
        foreach (var block in layout.Blocks)
        {
            int dot = block.Name.IndexOf('.', StringComparison.Ordinal);
            string layer = dot < 0 ? block.Name : block.Name[..dot];
            int l = names.IndexOf(layer);
            if (l < 0)
            {
                l = names.Count;
                names.Add(layer);
            }
            index.AsSpan(block.Offset, block.Length).Fill(l);
        }
        layers = names.Count;
        return index;
    }
}

/// <summary>What a set of hyperparameters achieved on a freshly trained network.</summary>
/// <param name="DecayByLayer">Mean λ of each layer's parameters.</param>
/// <param name="LearningRates">η_t for t = 1..T.</param>
public sealed record HpoReport(double TestAccuracy, double ValidationLoss, double[] DecayByLayer, double[] LearningRates);
