using Bilevel.Tasks.Data;
using Bilevel.Tensors;

namespace Bilevel.Tasks.Tests.Data;

public sealed class LabeledImagesTests
{
    private static readonly LabeledImages Data = new(
        3, 2, 1, 2,
        [0.0f, 0.1f, 0.2f, 0.3f, /* image 1 */ 0.4f, 0.5f, 0.6f, 0.7f, /* image 2 */ 0.8f, 0.9f, 1.0f, 0.25f],
        [2, 0, 1]);

    [Fact]
    public void A_batch_is_an_nchw_tensor_in_the_requested_precision()
    {
        using var scope = TensorScope.Begin();
        var batch = Data.ImageBatch<double>([2, 0]);
        Assert.Equal(new Shape(2, 2, 1, 2), batch.Shape);
        Assert.Equal(new double[] { 0.8f, 0.9f, 1.0f, 0.25f, 0.0f, 0.1f, 0.2f, 0.3f }, batch.ToArray());

        var flat = Data.FlatImageBatch<float>([1]);
        Assert.Equal(new Shape(1, 4), flat.Shape);
        Assert.Equal(Data.Image(1).ToArray(), flat.ToArray());

        Assert.Equal(new Shape(2, 2, 1, 2), Data.ImageBatch<float>(1, 2).Shape);
        Assert.Equal(new[] { 1, 2 }, Data.LabelBatch([2, 0]));
        Assert.Equal(new float[] { 0, 1, 0, 0, /* label 2 */ 0, 0, 1, 0 }, Data.OneHotBatch<float>([2, 0], 4).ToArray());
    }

    [Fact]
    public void Bad_shapes_and_indices_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => new LabeledImages(2, 1, 2, 2, new float[7], [0, 1]));
        Assert.Throws<ArgumentException>(() => new LabeledImages(2, 1, 2, 2, new float[8], [0]));
        Assert.Throws<ArgumentException>(() => new LabeledImages(1, 1, 1, 1, [0f], [-1]));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Data.ImageBatch<float>([3]));
        Assert.Contains("index 3 is outside 0..2", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => Data.OneHotBatch<float>([0], 2));
    }

    [Fact]
    public void Subsets_concatenation_and_equality()
    {
        var sub = Data.Subset([2, 2, 0]);
        Assert.Equal(new[] { 1, 1, 2 }, sub.Labels);
        Assert.Equal(Data.Image(0).ToArray(), sub.Image(2).ToArray());
        Assert.Equal(Data, LabeledImages.Concat([Data.Subset([0, 1]), Data.Subset([2])]));
        Assert.NotEqual(Data, Data.WithLabels([2, 0, 0]));
        Assert.Equal(new[] { 1, 1, 1 }, Data.CountPerClass());
    }
}
