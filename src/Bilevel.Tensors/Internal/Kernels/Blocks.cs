using System.Numerics;

namespace Bilevel.Tensors.Internal.Kernels;

/// <summary>
/// Copies between a tensor and a window along one axis of a larger one. A row-major tensor viewed around one axis is
/// [outer, axisLength, inner]; a window [start, start+length) of that axis is, for each outer index, one contiguous
/// block of length·inner elements.
/// </summary>
internal static class Blocks
{
    public static (int Outer, int Inner) Split(Shape shape, int axis)
    {
        int outer = 1, inner = 1;
        for (int i = 0; i < axis; i++) outer *= shape[i];
        for (int i = axis + 1; i < shape.Rank; i++) inner *= shape[i];
        return (outer, inner);
    }

    /// <summary>destination[o, 0..length, :] = source[o, start..start+length, :].</summary>
    public static void CopyOut<T>(NativeBuffer<T> source, int outer, int sourceAxis, int inner, int start, int length, NativeBuffer<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Elementwise.BlockRuns(outer, length * inner, (o, within, run) =>
            source.AsSpan((o * sourceAxis + start) * inner + within, run).CopyTo(destination.AsSpan(o * length * inner + within, run)));

    /// <summary>destination[o, start..start+length, :] = source[o, 0..length, :].</summary>
    public static void CopyIn<T>(NativeBuffer<T> source, int outer, int destinationAxis, int inner, int start, int length, NativeBuffer<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Elementwise.BlockRuns(outer, length * inner, (o, within, run) =>
            source.AsSpan(o * length * inner + within, run).CopyTo(destination.AsSpan((o * destinationAxis + start) * inner + within, run)));

    /// <summary>destination[o, start..start+length, :] += source[o, 0..length, :].</summary>
    public static void AddIn<T>(NativeBuffer<T> source, int outer, int destinationAxis, int inner, int start, int length, NativeBuffer<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Elementwise.BlockRuns(outer, length * inner, (o, within, run) =>
        {
            var d = destination.AsSpan((o * destinationAxis + start) * inner + within, run);
            System.Numerics.Tensors.TensorPrimitives.Add(d, source.AsSpan(o * length * inner + within, run), d);
        });

    /// <summary>destination[j, i, :] += source[i, j, :] for source [outer, middle, inner]: an add with the two leading axes of source swapped.</summary>
    public static void AddSwapped<T>(NativeBuffer<T> source, int outer, int middle, int inner, NativeBuffer<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Elementwise.BlockRuns(outer * middle, inner, (o, within, run) =>
        {
            int i = o / middle, j = o % middle;
            var d = destination.AsSpan((j * outer + i) * inner + within, run);
            System.Numerics.Tensors.TensorPrimitives.Add(d, source.AsSpan(o * inner + within, run), d);
        });
}
