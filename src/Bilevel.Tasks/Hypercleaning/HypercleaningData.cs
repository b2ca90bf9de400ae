using Bilevel.Tasks.Data;
using Bilevel.Tensors;

namespace Bilevel.Tasks.Hypercleaning;

/// <summary>
/// The data of one hypercleaning problem: a training set whose labels were corrupted at a known rate (which
/// examples were corrupted is recorded, to score the cleaning), a clean validation set and a clean test set.
/// </summary>
public sealed record HypercleaningData(LabeledImages Train, bool[] Corrupted, LabeledImages Validation, LabeledImages Test)
{
    /// <summary>
    /// Splits <paramref name="data"/> by <paramref name="split"/> and replaces the label of each training example,
    /// with probability <paramref name="corruptionRate"/>, by a different class drawn uniformly.
    /// </summary>
    public static HypercleaningData Corrupt(LabeledImages data, DataSplit split, double corruptionRate, ulong seed)
    {
        if (!(corruptionRate >= 0 && corruptionRate <= 1))
            throw new ArgumentException($"hypercleaning: corruption rate {corruptionRate} is outside [0, 1].", nameof(corruptionRate));
        var (train, validation, test) = split.Apply(data);
        int classes = Math.Max(2, data.ClassCount);
        var random = new CounterRandom(seed, 0, "label-corruption");
        var labels = (int[])train.Labels.Clone();
        var corrupted = new bool[labels.Length];
        for (int i = 0; i < labels.Length; i++)
        {
            if (random.NextDouble() >= corruptionRate) continue;
            labels[i] = (labels[i] + 1 + random.NextInt(classes - 1)) % classes;
            corrupted[i] = true;
        }
        var noisy = new LabeledImages(train.Count, train.Channels, train.Height, train.Width, train.Pixels, labels);
        return new HypercleaningData(noisy, corrupted, validation, test);
    }
}
