using System.Numerics;
using Bilevel.Hypergradients;
using Bilevel.Tensors;

namespace Bilevel.Tasks.Hypercleaning;

/// <summary>How well φ cleaned the data: test accuracy of a model trained with the weights, and detection of the corrupted labels.</summary>
/// <param name="Precision">Of the examples given weight &lt; ½, the fraction that were corrupted.</param>
/// <param name="Recall">Of the corrupted examples, the fraction given weight &lt; ½.</param>
public sealed record HypercleaningReport(double TestAccuracy, double Precision, double Recall)
{
    public double F1 => Precision + Recall == 0 ? 0 : 2 * Precision * Recall / (Precision + Recall);

    /// <summary>Trains a fresh model with the weights of φ by the problem's own inner dynamics, then scores it.</summary>
    public static HypercleaningReport Evaluate<T>(HypercleaningProblem<T> problem, Tensor<T> phi, long evaluationSeed = -1) where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var scope = TensorScope.Begin();
        var final = InnerDynamics.Final(problem, phi, evaluationSeed);
        var test = problem.Data.Test;
        var logits = problem.Model.Forward(final.Theta, test.FlatImageBatch<T>(Enumerable.Range(0, test.Count).ToArray()));
        int classes = logits.Shape[1], correct = 0;
        var span = logits.Span;
        for (int i = 0; i < test.Count; i++)
        {
            var row = span.Slice(i * classes, classes);
            int best = 0;
            for (int c = 1; c < classes; c++) if (row[c] > row[best]) best = c;
            if (best == test.Labels[i]) correct++;
        }
        var weights = problem.ExampleWeights(phi).Span;
        int flagged = 0, hit = 0, corrupted = 0;
        for (int i = 0; i < weights.Length; i++)
        {
            bool low = double.CreateChecked(weights[i]) < 0.5;
            if (low) flagged++;
            if (problem.Data.Corrupted[i]) corrupted++;
            if (low && problem.Data.Corrupted[i]) hit++;
        }
        return new HypercleaningReport(
            test.Count == 0 ? 0 : (double)correct / test.Count,
            flagged == 0 ? 0 : (double)hit / flagged,
            corrupted == 0 ? 0 : (double)hit / corrupted);
    }
}
