using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Bilevel.Tasks.Reproduction.Plots;

/// <summary>
/// A minimal PNG encoder: 8-bit RGB, no interlace, every scanline with filter 0 (none), one IDAT chunk compressed by
/// <see cref="ZLibStream"/>, chunk CRCs by the standard CRC-32 (polynomial 0xEDB88320). Enough for plots.
/// </summary>
public static class PngWriter
{
    /// <summary>The 8-byte PNG signature.</summary>
    public static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    private static readonly uint[] CrcTable = BuildCrcTable();

    /// <summary>The PNG file of a <paramref name="width"/>×<paramref name="height"/> image given as rows of R, G, B bytes.</summary>
    public static byte[] Encode(int width, int height, ReadOnlySpan<byte> rgb)
    {
        if (width < 1 || height < 1) throw new ArgumentOutOfRangeException(nameof(width), $"png: image size {width}×{height} must be at least 1×1.");
        if ((long)width * height * 3 != rgb.Length)
            throw new ArgumentException($"png: {rgb.Length} bytes for a {width}×{height} RGB image (expected {(long)width * height * 3}).", nameof(rgb));
        using var file = new MemoryStream();
        file.Write(Signature);

        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(0), width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8;  // bit depth
        header[9] = 2;  // colour type: truecolour (RGB)
        header[10] = 0; // compression: deflate
        header[11] = 0; // filter method 0
        header[12] = 0; // no interlace
        WriteChunk(file, "IHDR", header);

        using (var compressed = new MemoryStream())
        {
            using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
            {
                int stride = width * 3;
                for (int y = 0; y < height; y++)
                {
                    zlib.WriteByte(0); // filter type: none
                    zlib.Write(rgb.Slice(y * stride, stride));
                }
            }
            WriteChunk(file, "IDAT", compressed.ToArray());
        }
        WriteChunk(file, "IEND", []);
        return file.ToArray();
    }

    /// <summary>CRC-32 as PNG computes it over a chunk's type and data.</summary>
    public static uint Crc32(ReadOnlySpan<byte> data, uint crc = 0)
    {
        crc ^= 0xFFFFFFFFu;
        foreach (byte b in data) crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc ^ 0xFFFFFFFFu;
    }

    private static void WriteChunk(Stream file, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> four = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(four, data.Length);
        file.Write(four);
        var typeBytes = Encoding.ASCII.GetBytes(type);
        file.Write(typeBytes);
        file.Write(data);
        BinaryPrimitives.WriteUInt32BigEndian(four, Crc32(data, Crc32(typeBytes)));
        file.Write(four);
    }

    private static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }
}
