using Bilevel.Tasks.Data;

namespace Bilevel.Tasks.Tests.Data;

public sealed class DataSplitTests
{
    // 1000 examples in 4 unequal classes: 100, 200, 300, 400.
    private static readonly int[] Labels = Enumerable.Range(0, 1000).Select(i => i < 100 ? 0 : i < 300 ? 1 : i < 600 ? 2 : 3).ToArray();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_same_seed_gives_the_same_split_and_records_it(bool stratified)
    {
        var sizes = new SplitSizes(600, 150, 200);
        var a = DataSplit.Create(Labels, sizes, seed: 42, stratified);
        var b = DataSplit.Create(Labels, sizes, seed: 42, stratified);
        var c = DataSplit.Create(Labels, sizes, seed: 43, stratified);

        Assert.Equal(a, b);
        Assert.NotEqual(a.Train, c.Train);
        Assert.Equal(42UL, a.Seed);
        Assert.Equal(stratified, a.Stratified);
        Assert.Equal(sizes, a.Sizes);
        Assert.Equal(1000, a.SourceCount);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Parts_are_disjoint_and_in_range(bool stratified)
    {
        var split = DataSplit.Create(Labels, new SplitSizes(600, 150, 200), seed: 1, stratified);
        var all = split.Train.Concat(split.Validation).Concat(split.Test).ToArray();
        Assert.Equal(950, all.Distinct().Count());
        Assert.All(all, i => Assert.InRange(i, 0, 999));
    }

    [Fact]
    public void Stratified_parts_keep_the_class_mix_and_interleave_classes()
    {
        var split = DataSplit.Create(Labels, new SplitSizes(500, 100, 250), seed: 9);
        double[] share = [0.1, 0.2, 0.3, 0.4];
        foreach (var part in new[] { split.Train, split.Validation, split.Test })
        {
            for (int c = 0; c < 4; c++)
            {
                int count = part.Count(i => Labels[i] == c);
                Assert.InRange(count, share[c] * part.Length - 2, share[c] * part.Length + 2);
            }
            // Shuffled after dealing: the first ten are not all of one class.
            Assert.True(part.Take(10).Select(i => Labels[i]).Distinct().Count() > 1);
        }
        Assert.Equal(new[] { 50, 100, 150, 200 }, Enumerable.Range(0, 4).Select(c => split.Train.Count(i => Labels[i] == c)));
    }

    [Fact]
    public void Apply_takes_the_parts_of_the_data()
    {
        var pixels = Enumerable.Range(0, 10).Select(i => i / 10f).ToArray();
        var data = new LabeledImages(10, 1, 1, 1, pixels, [0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
        var split = DataSplit.Create(data, new SplitSizes(6, 2, 2), seed: 3);
        var (train, validation, test) = split.Apply(data);
        Assert.Equal(split.Train.Select(i => pixels[i]), train.Pixels);
        Assert.Equal(split.Validation.Select(i => data.Labels[i]), validation.Labels);
        Assert.Equal(2, test.Count);
        Assert.Equal(new[] { 3, 3 }, train.CountPerClass());

        var other = new LabeledImages(9, 1, 1, 1, pixels[..9], data.Labels[..9]);
        Assert.Throws<ArgumentException>(() => split.Apply(other));
    }

    [Fact]
    public void Sizes_beyond_the_source_are_rejected()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => DataSplit.Create(Labels, new SplitSizes(900, 100, 1), seed: 0));
        Assert.Contains("1001 exceeds the 1000 examples", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => DataSplit.Create(Labels, new SplitSizes(-1, 0, 0), seed: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => SplitSizes.FromFractions(10, 1.5, 0, 0));
        Assert.Equal(new SplitSizes(800, 100, 100), SplitSizes.FromFractions(1000, 0.8, 0.1, 0.1));
    }

    [Fact]
    public void The_split_is_pinned_so_that_a_change_of_algorithm_is_noticed()
    {
        // Recorded splits must mean the same indices forever: a trial stores only (seed, sizes, stratified).
        var split = DataSplit.Create(Labels, new SplitSizes(5, 3, 2), seed: 2024);
        Assert.Equal(PinnedTrain, split.Train);
        Assert.Equal(PinnedValidation, split.Validation);
        Assert.Equal(PinnedTest, split.Test);
    }

    private static readonly int[] PinnedTrain = [276, 12, 414, 819, 943];
    private static readonly int[] PinnedValidation = [231, 483, 655];
    private static readonly int[] PinnedTest = [389, 686];
}
