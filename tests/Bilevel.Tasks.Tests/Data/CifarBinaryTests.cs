using Bilevel.Tasks.Data;

namespace Bilevel.Tasks.Tests.Data;

public sealed class CifarBinaryTests : IDisposable
{
    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    /// <summary>A record as the CIFAR page describes it: label byte(s), then 1024 red, 1024 green, 1024 blue bytes, rows of 32.</summary>
    private static byte[] Record(byte[] labels, int seed)
    {
        var record = new byte[labels.Length + 3072];
        labels.CopyTo(record, 0);
        for (int channel = 0; channel < 3; channel++)
            for (int row = 0; row < 32; row++)
                for (int col = 0; col < 32; col++)
                    record[labels.Length + channel * 1024 + row * 32 + col] = (byte)((seed * 7 + channel * 50 + row * 3 + col) % 256);
        return record;
    }

    [Fact]
    public void Cifar10_records_become_nchw_images_in_the_unit_interval()
    {
        string path = temp.File("data_batch_1.bin");
        File.WriteAllBytes(path, [.. Record([3], 0), .. Record([9], 1), .. Record([0], 2)]);

        var data = CifarBinary.Read(path, CifarFormat.Cifar10);

        Assert.Equal((3, 3, 32, 32), (data.Count, data.Channels, data.Height, data.Width));
        Assert.Equal(new[] { 3, 9, 0 }, data.Labels);
        for (int i = 0; i < 3; i++)
        {
            var image = data.Image(i);
            var expected = Record([0], i);
            for (int k = 0; k < 3072; k++) Assert.Equal(expected[1 + k] / 255f, image[k]);
        }
        // Channel 1 (green), row 2, column 5 of image 1: the 1024·1 + 32·2 + 5-th value of its planes.
        Assert.Equal((1 * 7 + 50 + 6 + 5) / 255f, data.Pixels[3072 + 1024 + 64 + 5]);
    }

    [Fact]
    public void Cifar100_keeps_the_chosen_label_and_several_batches_concatenate()
    {
        string a = temp.File("train.bin"), b = temp.File("test.bin.gz");
        File.WriteAllBytes(a, [.. Record([19, 99], 0), .. Record([0, 4], 1)]);
        using (var gz = new System.IO.Compression.GZipStream(File.Create(b), System.IO.Compression.CompressionLevel.Fastest))
            gz.Write(Record([7, 42], 2));

        Assert.Equal(new[] { 19, 0, 7 }, CifarBinary.Read([a, b], CifarFormat.Cifar100Coarse).Labels);
        var fine = CifarBinary.Read([a, b], CifarFormat.Cifar100Fine);
        Assert.Equal(new[] { 99, 4, 42 }, fine.Labels);
        Assert.Equal(Record([0], 2)[1..].Select(v => v / 255f), fine.Image(2).ToArray());
    }

    [Fact]
    public void A_file_that_is_not_a_whole_number_of_records_is_rejected()
    {
        string path = temp.File("data_batch_2.bin");
        File.WriteAllBytes(path, [.. Record([1], 0), .. Record([2], 1)[..100]]);
        var e = Assert.Throws<DataFormatException>(() => CifarBinary.Read(path, CifarFormat.Cifar10));
        Assert.Equal(path, e.FilePath);
        Assert.Contains("3173 bytes is not a whole number of records (1 records and 100 bytes left over)", e.Message, StringComparison.Ordinal);
        Assert.Contains("3073 bytes each", e.Message, StringComparison.Ordinal);

        // A CIFAR-100 file read as CIFAR-10 is one byte per record off.
        string hundred = temp.File("train.bin");
        File.WriteAllBytes(hundred, Record([1, 2], 0));
        e = Assert.Throws<DataFormatException>(() => CifarBinary.Read(hundred, CifarFormat.Cifar10));
        Assert.Contains("3074 bytes is not a whole number of records", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Labels_out_of_range_are_rejected_with_the_record()
    {
        string path = temp.File("test_batch.bin");
        File.WriteAllBytes(path, [.. Record([1], 0), .. Record([10], 1)]);
        var e = Assert.Throws<DataFormatException>(() => CifarBinary.Read(path, CifarFormat.Cifar10));
        Assert.Contains("record 1 (byte offset 3073) has label 10; expected 0..9", e.Message, StringComparison.Ordinal);

        File.WriteAllBytes(path, Record([20, 5], 0));
        e = Assert.Throws<DataFormatException>(() => CifarBinary.Read(path, CifarFormat.Cifar100Fine));
        Assert.Contains("coarse label 20; expected 0..19", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_batch_is_named()
    {
        string path = temp.File("data_batch_5.bin");
        var e = Assert.Throws<FileNotFoundException>(() => CifarBinary.Read(path, CifarFormat.Cifar10));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("Cifar10 binary batch", e.Message, StringComparison.Ordinal);
    }
}
