using System.Globalization;
using Bilevel.Tensors;

namespace Bilevel.Tasks.Data;

/// <summary>How many examples go to each part of a <see cref="DataSplit"/>; the rest of the source is left out.</summary>
public sealed record SplitSizes(int Train, int Validation, int Test)
{
    public int Total => Train + Validation + Test;

    /// <summary>Sizes from fractions of <paramref name="count"/> (rounded down; the fractions may sum to less than 1).</summary>
    public static SplitSizes FromFractions(int count, double train, double validation, double test)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Check(train, nameof(train));
        Check(validation, nameof(validation));
        Check(test, nameof(test));
        if (train + validation + test > 1 + 1e-12)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"split: fractions {train} + {validation} + {test} exceed 1."), nameof(test));
        return new SplitSizes((int)(count * train), (int)(count * validation), (int)(count * test));

        static void Check(double fraction, string name)
        {
            if (!(fraction >= 0 && fraction <= 1))
                throw new ArgumentOutOfRangeException(name, fraction, $"split: {name} fraction must lie in [0, 1].");
        }
    }
}

/// <summary>
/// A deterministic train / validation / test split of a labelled source: three disjoint index lists into it, with
/// the seed and the options that produced them, so that a trial records and replays exactly what it trained on.
/// </summary>
/// <remarks>
/// <para>
/// Randomness comes from <see cref="CounterRandom"/> keyed by (<see cref="Seed"/>, 0, "data-split"): the same seed,
/// labels, sizes and options give the same split on every machine and .NET version.
/// </para>
/// <para>
/// Stratified (the default): each class is shuffled on its own and dealt to train, validation and test in proportion
/// to its share of the source (largest remainder, ties to the lower class), so every part's class mix matches the
/// source's to within rounding (two examples per class at most); each part is then shuffled, so classes are interleaved. Not stratified:
/// one permutation of the whole source, cut into consecutive pieces. Either way the three parts are disjoint, and
/// examples beyond <see cref="SplitSizes.Total"/> are left out.
/// </para>
/// </remarks>
public sealed record DataSplit
{
    private const string Purpose = "data-split";

    private DataSplit(ulong seed, bool stratified, int sourceCount, int[] train, int[] validation, int[] test)
        => (Seed, Stratified, SourceCount, Train, Validation, Test) = (seed, stratified, sourceCount, train, validation, test);

    public ulong Seed { get; }

    public bool Stratified { get; }

    /// <summary>The number of examples in the source the indices point into.</summary>
    public int SourceCount { get; }

    public int[] Train { get; }

    public int[] Validation { get; }

    public int[] Test { get; }

    public SplitSizes Sizes => new(Train.Length, Validation.Length, Test.Length);

    /// <summary>Splits a source whose example i has class <paramref name="labels"/>[i].</summary>
    public static DataSplit Create(ReadOnlySpan<int> labels, SplitSizes sizes, ulong seed, bool stratified = true)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        if (sizes.Train < 0 || sizes.Validation < 0 || sizes.Test < 0)
            throw new ArgumentOutOfRangeException(nameof(sizes), sizes, "split: sizes must be non-negative.");
        int n = labels.Length;
        if ((long)sizes.Train + sizes.Validation + sizes.Test > n)
            throw new ArgumentOutOfRangeException(nameof(sizes), sizes, $"split: train + validation + test = {(long)sizes.Train + sizes.Validation + sizes.Test} exceeds the {n} examples of the source.");
        for (int i = 0; i < n; i++)
        {
            if (labels[i] < 0) throw new ArgumentException($"split: label {i} is {labels[i]}; expected class indices ≥ 0.", nameof(labels));
        }

        var random = new CounterRandom(seed, 0, Purpose);
        int[] sizeList = [sizes.Train, sizes.Validation, sizes.Test];
        int[][] parts = stratified ? DealStratified(labels, sizeList, ref random) : Cut(random.Permutation(n), sizeList);
        return new DataSplit(seed, stratified, n, parts[0], parts[1], parts[2]);
    }

    /// <summary>Splits <paramref name="data"/> by its labels.</summary>
    public static DataSplit Create(LabeledImages data, SplitSizes sizes, ulong seed, bool stratified = true)
    {
        ArgumentNullException.ThrowIfNull(data);
        return Create(data.Labels, sizes, seed, stratified);
    }

    /// <summary>The three parts of <paramref name="data"/> (copies), which must be the source this split was made for.</summary>
    public (LabeledImages Train, LabeledImages Validation, LabeledImages Test) Apply(LabeledImages data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Count != SourceCount)
            throw new ArgumentException($"split: made for a source of {SourceCount} examples, applied to one of {data.Count}.", nameof(data));
        return (data.Subset(Train), data.Subset(Validation), data.Subset(Test));
    }

    public bool Equals(DataSplit? other)
        => other is not null && Seed == other.Seed && Stratified == other.Stratified && SourceCount == other.SourceCount
           && Train.AsSpan().SequenceEqual(other.Train) && Validation.AsSpan().SequenceEqual(other.Validation) && Test.AsSpan().SequenceEqual(other.Test);

    public override int GetHashCode() => HashCode.Combine(Seed, Stratified, SourceCount, Train.Length, Validation.Length, Test.Length);

    public override string ToString()
        => $"DataSplit {{ Seed = {Seed}, Stratified = {Stratified}, Train = {Train.Length}, Validation = {Validation.Length}, Test = {Test.Length} of {SourceCount} }}";

    private static int[][] Cut(int[] order, int[] sizes)
    {
        var parts = new int[sizes.Length][];
        int offset = 0;
        for (int s = 0; s < sizes.Length; s++)
        {
            parts[s] = order.AsSpan(offset, sizes[s]).ToArray();
            offset += sizes[s];
        }
        return parts;
    }

    private static int[][] DealStratified(ReadOnlySpan<int> labels, int[] sizes, ref CounterRandom random)
    {
        int classes = 0;
        foreach (int label in labels) classes = Math.Max(classes, label + 1);
        var byClass = new List<int>[classes];
        for (int c = 0; c < classes; c++) byClass[c] = [];
        for (int i = 0; i < labels.Length; i++) byClass[labels[i]].Add(i);

        // Each class in a random order; parts take from the front of what remains.
        var pools = new int[classes][];
        for (int c = 0; c < classes; c++)
        {
            var perm = random.Permutation(byClass[c].Count);
            pools[c] = Array.ConvertAll(perm, k => byClass[c][k]);
        }
        var remaining = Array.ConvertAll(pools, p => p.Length);
        var taken = new int[classes];

        var parts = new int[sizes.Length][];
        for (int s = 0; s < sizes.Length; s++)
        {
            var quota = Allocate(sizes[s], remaining);
            var part = new List<int>(sizes[s]);
            for (int c = 0; c < classes; c++)
            {
                part.AddRange(pools[c].AsSpan(taken[c], quota[c]));
                taken[c] += quota[c];
                remaining[c] -= quota[c];
            }
            var order = random.Permutation(part.Count);
            parts[s] = Array.ConvertAll(order, k => part[k]);
        }
        return parts;
    }

    /// <summary>
    /// <paramref name="size"/> examples shared among classes in proportion to <paramref name="available"/>: floors of
    /// the exact shares, then one more to the largest remainders (lower class first on ties). Never exceeds what a
    /// class has, since a class with a remainder has a floor below its share, and its share is at most what it has.
    /// </summary>
    private static int[] Allocate(int size, int[] available)
    {
        long total = available.Sum(a => (long)a);
        var quota = new int[available.Length];
        if (size == 0 || total == 0) return quota;
        var remainders = new (long Remainder, int Class)[available.Length];
        long given = 0;
        for (int c = 0; c < available.Length; c++)
        {
            long share = (long)size * available[c];
            quota[c] = (int)(share / total);
            remainders[c] = (share % total, c);
            given += quota[c];
        }
        Array.Sort(remainders, (a, b) => a.Remainder != b.Remainder ? b.Remainder.CompareTo(a.Remainder) : a.Class.CompareTo(b.Class));
        for (int k = 0; given < size; k++, given++) quota[remainders[k].Class]++;
        return quota;
    }
}
