using System.Buffers.Binary;
using System.IO.Compression;
using Bilevel.Tasks.Data;

namespace Bilevel.Tasks.Tests.Data;

public sealed class IdxFileTests : IDisposable
{
    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    public static TheoryData<string> Names => new() { "array-idx", "array-idx.gz" };

    [Theory]
    [MemberData(nameof(Names))]
    public void Every_element_type_round_trips(string name)
    {
        var random = new Random(7);
        var bytes = new byte[2 * 3 * 5];
        random.NextBytes(bytes);
        IdxArray[] arrays =
        [
            IdxArray.Create(bytes, 2, 3, 5),
            IdxArray.Create(Array.ConvertAll(bytes, b => unchecked((sbyte)b)), 30),
            IdxArray.Create(Enumerable.Range(0, 12).Select(i => (short)(i * 4099 - 20000)).ToArray(), 3, 4),
            IdxArray.Create(Enumerable.Range(0, 7).Select(i => i * 123_456_789 - 400_000_000).ToArray(), 7),
            IdxArray.Create(new[] { 0f, -0f, 1.5f, float.MaxValue, float.Epsilon, float.NaN, -3.25e-7f, 1f / 3 }, 2, 2, 2),
            IdxArray.Create(new[] { Math.PI, -Math.E, double.MinValue, 1e-300, 0.1 }, 5, 1),
            IdxArray.Create(Array.Empty<byte>(), 0, 28, 28),
        ];
        foreach (var array in arrays)
        {
            string path = temp.File(name);
            IdxFile.Write(path, array);
            var read = IdxFile.Read(path);
            Assert.Equal(array, read);
            Assert.Equal(array.Dimensions, read.Dimensions);
            Assert.Equal(array.ElementType, read.ElementType);
        }
    }

    [Fact]
    public void The_encoding_is_the_published_format_big_endian()
    {
        string path = temp.File("labels-idx1-ubyte");
        IdxFile.Write(path, IdxArray.Create(new byte[] { 7, 2, 1 }, 3));
        Assert.Equal(new byte[] { 0, 0, 0x08, 1, 0, 0, 0, 3, 7, 2, 1 }, File.ReadAllBytes(path));

        path = temp.File("ints");
        IdxFile.Write(path, IdxArray.Create(new[] { 0x01020304 }, 1));
        Assert.Equal(new byte[] { 0, 0, 0x0C, 1, 0, 0, 0, 1, 1, 2, 3, 4 }, File.ReadAllBytes(path));
    }

    [Fact]
    public void Gzip_is_detected_by_content_not_by_name()
    {
        var array = IdxArray.Create(new byte[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        string gz = temp.File("a.gz");
        IdxFile.Write(gz, array);
        Assert.Equal(new byte[] { 0x1F, 0x8B }, File.ReadAllBytes(gz)[..2]);

        string renamed = temp.File("train-images-idx3-ubyte");
        File.Copy(gz, renamed);
        Assert.Equal(array, IdxFile.Read(renamed));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Labeled_images_round_trip_exactly(string suffix)
    {
        var pixels = Enumerable.Range(0, 4 * 3 * 5).Select(i => (i * 37 % 256) / 255f).ToArray();
        pixels[0] = 0f;
        pixels[1] = 1f;
        var data = new LabeledImages(4, 1, 3, 5, pixels, [3, 0, 9, 3]);
        string images = temp.File($"images{suffix}"), labels = temp.File($"labels{suffix}");
        IdxFile.WriteLabeledImages(data, images, labels);

        var read = IdxFile.ReadLabeledImages(images, labels);
        Assert.Equal(data, read);
        Assert.Equal(new[] { 4, 3, 5 }, IdxFile.Read(images).Dimensions);

        var color = new LabeledImages(2, 3, 2, 2, pixels[..24], [300, 1]);
        IdxFile.WriteLabeledImages(color, images, labels);
        Assert.Equal(color, IdxFile.ReadLabeledImages(images, labels));
        Assert.Equal(new[] { 2, 3, 2, 2 }, IdxFile.Read(images).Dimensions);
        Assert.Equal(IdxElementType.Int32, IdxFile.Read(labels).ElementType);
    }

    [Fact]
    public void Pixels_outside_the_unit_interval_are_not_quantised()
    {
        var data = new LabeledImages(1, 1, 1, 2, [0.5f, 1.5f], [0]);
        var e = Assert.Throws<ArgumentException>(() => IdxFile.WriteLabeledImages(data, temp.File("i"), temp.File("l")));
        Assert.Contains("index 1", e.Message, StringComparison.Ordinal);
        Assert.Contains("[0, 1]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_is_named_with_what_was_expected()
    {
        string path = temp.File("t10k-images-idx3-ubyte");
        var e = Assert.Throws<FileNotFoundException>(() => IdxFile.Read(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("IDX", e.Message, StringComparison.Ordinal);
        Assert.Equal(path, e.FileName);
    }

    public static TheoryData<string, byte[], string> Corrupt => new()
    {
        { "empty", [], "truncated: 0 bytes where the 4-byte magic" },
        { "bad-magic", [0x50, 0x4B, 0x03, 0x04, 0, 0, 0, 0], "bad magic number 50 4B 03 04" },
        { "bad-type", [0, 0, 0x07, 1, 0, 0, 0, 1, 9], "bad magic number 00 00 07 01" },
        { "rank-zero", [0, 0, 0x08, 0], "rank ≥ 1" },
        { "short-header", [0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0], "truncated in the header: 3 dimensions need 12 bytes" },
        { "negative-dim", [0, 0, 0x08, 1, 0xFF, 0xFF, 0xFF, 0xFF], "dimension 0 is 4294967295" },
        { "truncated-data", [0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5], "truncated: dimensions [2×3] of UnsignedByte promise 6 data bytes (18 bytes in all), the file has 17" },
        { "trailing", [0, 0, 0x08, 1, 0, 0, 0, 2, 1, 2, 3], "1 bytes beyond the 10 that dimensions [2] of UnsignedByte promise" },
        { "truncated-int", [0, 0, 0x0C, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0], "promise 8 data bytes (16 bytes in all), the file has 14" },
    };

    [Theory]
    [MemberData(nameof(Corrupt))]
    public void Corrupt_files_are_rejected_naming_the_file_and_the_expectation(string name, byte[] content, string expected)
    {
        string path = temp.File(name);
        File.WriteAllBytes(path, content);
        var e = Assert.Throws<DataFormatException>(() => IdxFile.Read(path));
        Assert.Equal(path, e.FilePath);
        Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Corrupt))]
    public void Corrupt_gzip_files_are_rejected_the_same_way(string name, byte[] content, string expected)
    {
        string path = temp.File(name + ".gz");
        using (var gz = new GZipStream(File.Create(path), CompressionLevel.Fastest)) gz.Write(content);
        var e = Assert.Throws<DataFormatException>(() => IdxFile.Read(path));
        Assert.Equal(path, e.FilePath);
        // Through gzip the total length is unknown up front, so truncation and trailing data are found while reading.
        string found = name switch
        {
            "truncated-data" => "truncated: dimensions [2×3] of UnsignedByte promise 6 data bytes, the data ends after 5",
            "trailing" => "data continues past the 2 bytes that dimensions [2] of UnsignedByte promise",
            "truncated-int" => "promise 8 data bytes, the data ends after 6",
            _ => expected,
        };
        Assert.Contains(found, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cut_gzip_stream_is_reported_as_corrupt_or_truncated()
    {
        string path = temp.File("cut.gz");
        IdxFile.Write(path, IdxArray.Create(Enumerable.Range(0, 5000).Select(i => (byte)(i * 31 % 251)).ToArray(), 5000));
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<DataFormatException>(() => IdxFile.Read(path));
        Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_gzip_header_promising_more_than_deflate_can_hold_is_rejected_before_allocating()
    {
        string path = temp.File("bomb.gz");
        var header = new byte[16];
        header[2] = 0x08;
        header[3] = 3;
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), 60000);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(8), 28);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(12), 28);
        using (var gz = new GZipStream(File.Create(path), CompressionLevel.Fastest)) gz.Write(header);
        var e = Assert.Throws<DataFormatException>(() => IdxFile.Read(path));
        Assert.Contains("more than a", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Images_and_labels_that_do_not_match_are_rejected_naming_the_labels_file()
    {
        string images = temp.File("images"), labels = temp.File("labels");
        IdxFile.Write(images, IdxArray.Create(new byte[2 * 4], 2, 2, 2));
        IdxFile.Write(labels, IdxArray.Create(new byte[] { 1, 2, 3 }, 3));
        var e = Assert.Throws<DataFormatException>(() => IdxFile.ReadLabeledImages(images, labels));
        Assert.Equal(labels, e.FilePath);
        Assert.Contains("3 labels for the 2 images of " + images, e.Message, StringComparison.Ordinal);

        IdxFile.Write(images, IdxArray.Create(new byte[8], 8));
        e = Assert.Throws<DataFormatException>(() => IdxFile.ReadLabeledImages(images, labels));
        Assert.Equal(images, e.FilePath);
        Assert.Contains("expected [count, rows, columns]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Standard_mnist_names_are_found_plain_or_gzipped()
    {
        var root = new DataRoot(temp.Path);
        var pixels = Enumerable.Range(0, 3 * 4).Select(i => i / 11f).ToArray();
        pixels = Array.ConvertAll(pixels, p => MathF.Round(p * 255) / 255);
        var data = new LabeledImages(3, 1, 2, 2, pixels, [1, 2, 3]);
        Directory.CreateDirectory(temp.File("fashion"));
        IdxFile.WriteLabeledImages(data, temp.File("fashion/train-images-idx3-ubyte.gz"), temp.File("fashion/train-labels-idx1-ubyte"));
        Assert.Equal(data, MnistFiles.Load(root, "fashion", MnistPart.Train));

        var e = Assert.Throws<FileNotFoundException>(() => MnistFiles.Load(root, "fashion", MnistPart.Test));
        Assert.Contains(temp.File("fashion/t10k-images-idx3-ubyte"), e.Message, StringComparison.Ordinal);
        Assert.Contains("t10k-images-idx3-ubyte.gz", e.Message, StringComparison.Ordinal);
    }
}
