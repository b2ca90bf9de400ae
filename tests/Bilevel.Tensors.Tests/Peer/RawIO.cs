using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Bilevel.Tensors.Tests.Peer;

/// <summary>
/// Raw little-endian arrays without a header, the exchange format of the PyTorch peer scripts
/// (<c>numpy.fromfile</c> / <c>tofile</c> with <c>&lt;f4</c>, <c>&lt;f8</c>, <c>&lt;i4</c>).
/// </summary>
internal static class RawIO
{
    public static void WriteFloat32(string path, ReadOnlySpan<float> values)
    {
        var bytes = new byte[checked(values.Length * sizeof(float))];
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), values[i]);
        File.WriteAllBytes(path, bytes);
    }

    public static void WriteFloat64(string path, ReadOnlySpan<double> values)
    {
        var bytes = new byte[checked(values.Length * sizeof(double))];
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(i * sizeof(double)), values[i]);
        File.WriteAllBytes(path, bytes);
    }

    public static void WriteInt32(string path, ReadOnlySpan<int> values)
    {
        var bytes = new byte[checked(values.Length * sizeof(int))];
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(i * sizeof(int)), values[i]);
        File.WriteAllBytes(path, bytes);
    }

    public static float[] ReadFloat32(string path)
    {
        byte[] bytes = ReadAll(path, sizeof(float));
        var values = new float[bytes.Length / sizeof(float)];
        for (int i = 0; i < values.Length; i++)
            values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * sizeof(float)));
        return values;
    }

    public static double[] ReadFloat64(string path)
    {
        byte[] bytes = ReadAll(path, sizeof(double));
        var values = new double[bytes.Length / sizeof(double)];
        for (int i = 0; i < values.Length; i++)
            values[i] = BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(i * sizeof(double)));
        return values;
    }

    public static int[] ReadInt32(string path)
    {
        byte[] bytes = ReadAll(path, sizeof(int));
        var values = new int[bytes.Length / sizeof(int)];
        for (int i = 0; i < values.Length; i++)
            values[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(i * sizeof(int)));
        return values;
    }

    /// <summary>Writes float, double or int values; for tests generic over the element type.</summary>
    public static void Write<T>(string path, ReadOnlySpan<T> values) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            WriteFloat32(path, MemoryMarshal.Cast<T, float>(values));
        else if (typeof(T) == typeof(double))
            WriteFloat64(path, MemoryMarshal.Cast<T, double>(values));
        else if (typeof(T) == typeof(int))
            WriteInt32(path, MemoryMarshal.Cast<T, int>(values));
        else
            throw new NotSupportedException($"RawIO handles float, double and int, not {typeof(T)}.");
    }

    /// <summary>Reads float, double or int values; for tests generic over the element type.</summary>
    public static T[] Read<T>(string path) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            return (T[])(object)ReadFloat32(path);
        if (typeof(T) == typeof(double))
            return (T[])(object)ReadFloat64(path);
        if (typeof(T) == typeof(int))
            return (T[])(object)ReadInt32(path);
        throw new NotSupportedException($"RawIO handles float, double and int, not {typeof(T)}.");
    }

    private static byte[] ReadAll(string path, int elementSize)
    {
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length % elementSize != 0)
        {
            throw new InvalidDataException(
                $"{path}: {bytes.Length} bytes is not a whole number of {elementSize}-byte elements.");
        }
        return bytes;
    }
}
