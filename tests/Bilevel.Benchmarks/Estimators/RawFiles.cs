using System.Buffers.Binary;
using Bilevel.Tensors;

namespace Bilevel.Benchmarks.Estimators;

/// <summary>The raw little-endian arrays (no header) that the benchmark and its PyTorch peer exchange.</summary>
internal static class RawFiles
{
    public static void WriteFloats(string path, Tensor<float> tensor)
    {
        var span = tensor.Span;
        var bytes = new byte[span.Length * sizeof(float)];
        for (int i = 0; i < span.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), span[i]);
        File.WriteAllBytes(path, bytes);
    }

    public static void WriteFloats(string dir, string name, Tensor<float> tensor) => WriteFloats(Path.Combine(dir, name), tensor);

    public static void WriteInts(string dir, string name, int[] values)
    {
        var bytes = new byte[values.Length * sizeof(int)];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(i * sizeof(int)), values[i]);
        File.WriteAllBytes(Path.Combine(dir, name), bytes);
    }

    public static float[] ReadFloats(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var values = new float[bytes.Length / sizeof(float)];
        for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * sizeof(float)));
        return values;
    }

    public static double[] ReadDoubles(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var values = new double[bytes.Length / sizeof(double)];
        for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(i * sizeof(double)));
        return values;
    }
}
