using System.Globalization;

namespace Bilevel.Tasks.Data.Internal;

/// <summary>8-bit pixels to floats in [0, 1] (b / 255) and back (round(255·p)); the round trip is exact.</summary>
internal static class PixelCodec
{
    private static readonly float[] Scale = CreateScale();

    public static float[] FromBytes(ReadOnlySpan<byte> bytes)
    {
        var pixels = new float[bytes.Length];
        var scale = Scale;
        for (int i = 0; i < bytes.Length; i++) pixels[i] = scale[bytes[i]];
        return pixels;
    }

    public static void FromBytes(ReadOnlySpan<byte> bytes, Span<float> destination)
    {
        if (destination.Length != bytes.Length)
            throw new ArgumentException($"pixels: {bytes.Length} bytes into {destination.Length} floats.", nameof(destination));
        var scale = Scale;
        for (int i = 0; i < bytes.Length; i++) destination[i] = scale[bytes[i]];
    }

    /// <summary>Quantises pixels in [0, 1]; anything else (NaN included) is rejected with its index.</summary>
    public static byte[] ToBytes(ReadOnlySpan<float> pixels)
    {
        var bytes = new byte[pixels.Length];
        for (int i = 0; i < pixels.Length; i++)
        {
            float p = pixels[i];
            if (!(p >= 0f && p <= 1f))
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"pixels: value {p} at index {i} is outside [0, 1]; 8-bit images hold pixels in [0, 1]."),
                    nameof(pixels));
            bytes[i] = (byte)MathF.Round(p * 255f);
        }
        return bytes;
    }

    private static float[] CreateScale()
    {
        var scale = new float[256];
        for (int b = 0; b < 256; b++) scale[b] = b / 255f;
        return scale;
    }
}
