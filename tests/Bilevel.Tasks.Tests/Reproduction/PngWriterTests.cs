using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Bilevel.Tasks.Reproduction.Plots;

namespace Bilevel.Tasks.Tests.Reproduction;

/// <summary>The PNG writer and the line plot, checked by re-parsing the file: signature, chunk order, CRCs, zlib data, pixels.</summary>
public sealed class PngWriterTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 3)]
    [InlineData(64, 65)]
    public void EncodedImageDecodesToTheSamePixels(int width, int height)
    {
        var rgb = new byte[width * height * 3];
        for (int i = 0; i < rgb.Length; i++) rgb[i] = (byte)(i * 37 % 251);
        var png = PngWriter.Encode(width, height, rgb);
        var image = Decode(png);
        Assert.Equal(width, image.Width);
        Assert.Equal(height, image.Height);
        Assert.Equal(rgb, image.Rgb);
    }

    [Fact]
    public void Crc32MatchesTheStandardCheckValue()
    {
        // The CRC-32 check value of "123456789" (ISO-HDLC / PNG / zlib).
        Assert.Equal(0xCBF43926u, PngWriter.Crc32(Encoding.ASCII.GetBytes("123456789")));
        Assert.Equal(0xCBF43926u, PngWriter.Crc32(Encoding.ASCII.GetBytes("6789"), PngWriter.Crc32(Encoding.ASCII.GetBytes("12345"))));
    }

    [Fact]
    public void WrongBufferSizeIsRefused()
    {
        var error = Assert.Throws<ArgumentException>(() => PngWriter.Encode(4, 4, new byte[47]));
        Assert.Contains("4×4", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PlotDrawsEverySeriesColourTheLegendAndTheAxes()
    {
        var plot = new LinePlot("loss", "outer step", "loss", logY: true)
            .Add("rgu", Enumerable.Range(0, 20).Select(i => ((double)i, Math.Exp(-0.2 * i))))
            .Add("fg2u(b=8)", Enumerable.Range(0, 20).Select(i => ((double)i, 2 * Math.Exp(-0.1 * i))))
            .Add("empty", [(1.0, double.NaN)]);
        var canvas = plot.Render(600, 400);
        var image = Decode(canvas.ToPng());
        Assert.Equal(600, image.Width);
        var counts = new Dictionary<Rgb, int>();
        for (int i = 0; i < image.Rgb.Length; i += 3)
        {
            var c = new Rgb(image.Rgb[i], image.Rgb[i + 1], image.Rgb[i + 2]);
            counts[c] = counts.GetValueOrDefault(c) + 1;
        }
        Assert.True(counts.GetValueOrDefault(Rgb.Palette[0]) > 200, "the first series is (almost) not drawn");
        Assert.True(counts.GetValueOrDefault(Rgb.Palette[1]) > 200, "the second series is (almost) not drawn");
        // The third series has no drawable point: only its legend line shows.
        Assert.InRange(counts.GetValueOrDefault(Rgb.Palette[2]), 1, 200);
        Assert.True(counts.GetValueOrDefault(Rgb.Black) > 500, "no axes or text");
    }

    private sealed record Image(int Width, int Height, byte[] Rgb);

    /// <summary>An independent PNG reader for 8-bit RGB with filter 0, checking every CRC bit by bit.</summary>
    private static Image Decode(byte[] png)
    {
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        int offset = 8, width = 0, height = 0;
        var types = new List<string>();
        using var idat = new MemoryStream();
        while (offset < png.Length)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(offset));
            string type = Encoding.ASCII.GetString(png, offset + 4, 4);
            var data = png.AsSpan(offset + 8, length);
            uint stored = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(offset + 8 + length));
            Assert.Equal(BitwiseCrc(png.AsSpan(offset + 4, 4 + length)), stored);
            types.Add(type);
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(data);
                height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                Assert.Equal(new byte[] { 8, 2, 0, 0, 0 }, data[8..13].ToArray());
            }
            if (type == "IDAT") idat.Write(data);
            offset += 12 + length;
        }
        Assert.Equal(png.Length, offset);
        Assert.Equal("IHDR", types[0]);
        Assert.Equal("IEND", types[^1]);
        Assert.Contains("IDAT", types);

        idat.Position = 0;
        using var zlib = new ZLibStream(idat, CompressionMode.Decompress);
        using var raw = new MemoryStream();
        zlib.CopyTo(raw);
        var bytes = raw.ToArray();
        int stride = width * 3;
        Assert.Equal(height * (stride + 1), bytes.Length);
        var rgb = new byte[height * stride];
        for (int y = 0; y < height; y++)
        {
            Assert.Equal(0, bytes[y * (stride + 1)]);
            Array.Copy(bytes, y * (stride + 1) + 1, rgb, y * stride, stride);
        }
        return new Image(width, height, rgb);
    }

    private static uint BitwiseCrc(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (uint)-(int)(crc & 1));
        }
        return ~crc;
    }
}
