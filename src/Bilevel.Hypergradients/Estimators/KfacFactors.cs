using System.Numerics;
using Bilevel.Nn;
using Bilevel.Tensors;

namespace Bilevel.Hypergradients.Estimators;

/// <summary>How KFAC takes the expectation over the model's predictive distribution in G = E[δδᵀ].</summary>
public enum KfacFisher
{
    /// <summary>
    /// The exact expectation: one backward pass per class (or output, for regression), each weighted by its
    /// probability, so G is the layer's share of the GGN of the inner loss. For small class counts.
    /// </summary>
    Exact,

    /// <summary>Labels (or targets) sampled from the model's predictive distribution: one backward pass per sample.</summary>
    MonteCarlo,
}

/// <summary>
/// The factors of one minibatch: A_l = (1/R) Σ_r ā_r ā_rᵀ over the R rows of layer l (samples, or samples ×
/// output positions for a convolution) and G_l = (1/n) Σ_i w_i Σ_positions E_y[δ δᵀ] over the n samples, where δ is
/// the gradient of −log p(y | z_i) with respect to the layer's pre-activation output and y is drawn from the
/// model's own predictive distribution. With these scalings A_l ⊗ G_l approximates the layer's block of the Hessian
/// (GGN) of the mean inner loss (1/n) Σ_i w_i ℓ_i, and equals it for a linear least-squares layer.
/// </summary>
internal static class KfacFactors
{
    /// <summary>
    /// The factors of every layer of <paramref name="batch"/>'s model at <paramref name="theta"/>. Where
    /// <paramref name="reuse"/> holds factors of the same sizes for a layer, they are overwritten rather than new
    /// arrays allocated: a refresh every outer step would otherwise put several megabytes on the large-object heap.
    /// </summary>
    public static KfacLayerFactors[] Compute<T>(KfacBatch<T> batch, Tensor<T> theta, KfacFisher fisher, int samples, ulong seed, long outerStep,
        IReadOnlyList<KfacLayerFactors>? reuse = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var scope = TensorScope.Begin();
        var model = batch.Model;
        var capture = new KfacCapture<T>(model.KfacLayers);
        var output = model.Forward(theta, batch.Inputs, capture);
        if (output.Rank != 2)
            throw new ArgumentException($"kfac: the model's output must be [n, K], got {output.Shape}.", nameof(batch));
        int n = output.Shape[0], k = output.Shape[1];
        var weights = Weights(batch.SampleWeights, n);
        int layers = model.KfacLayers.Count;

        var a = new double[layers][];
        var g = new double[layers][];
        for (int l = 0; l < layers; l++)
        {
            var layer = model.KfacLayers[l];
            int din = layer.FactorInputSize, dout = layer.OutputSize;
            bool fits = reuse is not null && l < reuse.Count && reuse[l].InputSize == din && reuse[l].OutputSize == dout;
            a[l] = fits ? Cleared(reuse![l].A) : new double[din * din];
            g[l] = fits ? Cleared(reuse![l].G) : new double[dout * dout];
            Scale(a[l], 1.0 / capture.AddInputSecondMoment(l, a[l]));
        }

        // One taped forward pass with the probes, then a backward pass per cotangent on that tape.
        var probes = capture.ZeroProbes();
        capture.RecordInputs = false;
        double[]? p = batch.Likelihood == KfacLikelihood.Classification ? Softmax(output, n, k) : null;
        Autodiff.VjpEach(ps =>
            {
                capture.Probes = ps;
                try
                {
                    return [model.Forward(theta, batch.Inputs, capture)];
                }
                finally
                {
                    capture.Probes = null;
                }
            },
            probes,
            _ => Cotangents(p, weights, n, k, fisher, samples, seed, outerStep).Select(cotangent => new[] { ToTensor<T>(cotangent, n, k) }),
            gradients =>
            {
                for (int l = 0; l < layers; l++) capture.AddOutputSecondMoment(l, gradients[l], g[l]);
            });
        // The exact expectation weights each class's pass by its probability, so its passes sum to one draw.
        int passes = fisher == KfacFisher.Exact ? 1 : samples;

        var result = new KfacLayerFactors[layers];
        for (int l = 0; l < layers; l++)
        {
            Scale(g[l], 1.0 / ((double)n * passes));
            var layer = model.KfacLayers[l];
            result[l] = new KfacLayerFactors(layer.Name, layer.FactorInputSize, layer.OutputSize, a[l], g[l]);
        }
        return result;
    }

    /// <summary>
    /// The output cotangents of the backward passes whose output-gradient second moments sum to passes·n·G_l (one
    /// array, rewritten for each pass): with class probabilities <paramref name="p"/>, the softmax cross-entropy's
    /// √(w p_c)(p − e_c) per class c (exact) or √w (p − e_y) per sampled label y; without (regression, ½‖z − y‖²),
    /// √w e_c per output c (exact) or √w times a standard normal vector per sample.
    /// </summary>
    private static IEnumerable<double[]> Cotangents(double[]? p, double[] weights, int n, int k, KfacFisher fisher, int samples, ulong seed, long outerStep)
    {
        var cot = new double[n * k];
        if (p is not null && fisher == KfacFisher.Exact)
        {
            // Σ_c p_c (p − e_c)(p − e_c)ᵀ = diag(p) − ppᵀ, the Hessian of cross-entropy in the logits.
            for (int c = 0; c < k; c++)
            {
                bool any = false;
                for (int i = 0; i < n; i++)
                {
                    double scale = Math.Sqrt(weights[i] * p[i * k + c]);
                    any |= scale > 0;
                    for (int j = 0; j < k; j++) cot[i * k + j] = scale * (p[i * k + j] - (j == c ? 1 : 0));
                }
                if (any) yield return cot;
            }
        }
        else if (p is not null)
        {
            var random = new CounterRandom(seed, outerStep, "kfac-labels");
            for (int s = 0; s < samples; s++)
            {
                for (int i = 0; i < n; i++)
                {
                    int label = Sample(ref random, p.AsSpan(i * k, k));
                    double scale = Math.Sqrt(weights[i]);
                    for (int j = 0; j < k; j++) cot[i * k + j] = scale * (p[i * k + j] - (j == label ? 1 : 0));
                }
                yield return cot;
            }
        }
        else if (fisher == KfacFisher.Exact)
        {
            // The Hessian of ½‖z − y‖² in z is I = Σ_c e_c e_cᵀ.
            for (int c = 0; c < k; c++)
            {
                Array.Clear(cot);
                for (int i = 0; i < n; i++) cot[i * k + c] = Math.Sqrt(weights[i]);
                yield return cot;
            }
        }
        else
        {
            // δ = z − y with y ~ N(z, I): a standard normal vector per sample.
            var random = new CounterRandom(seed, outerStep, "kfac-targets");
            for (int s = 0; s < samples; s++)
            {
                for (int i = 0; i < n; i++)
                {
                    double scale = Math.Sqrt(weights[i]);
                    for (int j = 0; j < k; j++) cot[i * k + j] = scale * random.NextGaussian();
                }
                yield return cot;
            }
        }
    }

    private static Tensor<T> ToTensor<T>(double[] values, int n, int k) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var tensor = Tensor<T>.Zeros(n, k);
        var span = tensor.Span;
        for (int i = 0; i < span.Length; i++) span[i] = T.CreateChecked(values[i]);
        return tensor;
    }

    private static double[] Weights<T>(Tensor<T>? weights, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var result = new double[n];
        if (weights is null)
        {
            Array.Fill(result, 1.0);
            return result;
        }
        if (weights.Rank != 1 || weights.Shape[0] != n)
            throw new ArgumentException($"kfac: sample weights must have shape [{n}] (one per sample of the batch), got {weights.Shape}.", nameof(weights));
        var span = weights.Span;
        for (int i = 0; i < n; i++)
        {
            result[i] = double.CreateChecked(span[i]);
            if (!(result[i] >= 0) || !double.IsFinite(result[i]))
                throw new ArgumentException($"kfac: sample weight {i} is {result[i]}; the weights of a likelihood must be finite and ≥ 0.", nameof(weights));
        }
        return result;
    }

    private static double[] Softmax<T>(Tensor<T> logits, int n, int k) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var z = logits.Span;
        var p = new double[n * k];
        for (int i = 0; i < n; i++)
        {
            double max = double.NegativeInfinity;
            for (int j = 0; j < k; j++) max = Math.Max(max, double.CreateChecked(z[i * k + j]));
            double total = 0;
            for (int j = 0; j < k; j++) total += p[i * k + j] = Math.Exp(double.CreateChecked(z[i * k + j]) - max);
            for (int j = 0; j < k; j++) p[i * k + j] /= total;
        }
        return p;
    }

    private static int Sample(ref CounterRandom random, ReadOnlySpan<double> p)
    {
        double u = random.NextDouble(), cumulative = 0;
        for (int j = 0; j < p.Length - 1; j++)
        {
            cumulative += p[j];
            if (u < cumulative) return j;
        }
        return p.Length - 1;
    }

    private static double[] Cleared(double[] x)
    {
        Array.Clear(x);
        return x;
    }

    private static void Scale(double[] x, double c)
    {
        for (int i = 0; i < x.Length; i++) x[i] *= c;
    }
}
