using System.Numerics;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using Bilevel.Tensors;

namespace Bilevel.Tasks.Data;

/// <summary>
/// A labelled image dataset in memory: <see cref="Count"/> images of <see cref="Channels"/>×<see cref="Height"/>×<see cref="Width"/>
/// float pixels (row-major NCHW, usually in [0, 1]) and one class index per image. Tasks take batches of it as tensors
/// ([b, C, H, W] for convolutional models, [b, C·H·W] for MLPs). Equality compares every pixel and label.
/// </summary>
/// <remarks>
/// The arrays are shared, not copied, so that a 60,000-image set is not duplicated by every view of it: treat them
/// as read-only, and derive new sets with <see cref="Subset"/> or <see cref="WithLabels"/>.
/// </remarks>
public sealed record LabeledImages
{
    public LabeledImages(int count, int channels, int height, int width, float[] pixels, int[] labels)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        long expected = (long)count * channels * height * width;
        if (pixels.LongLength != expected)
            throw new ArgumentException($"labeled images: {pixels.Length} pixels for {count}×{channels}×{height}×{width} images; expected {expected}.", nameof(pixels));
        if (labels.Length != count)
            throw new ArgumentException($"labeled images: {labels.Length} labels for {count} images; expected one label per image.", nameof(labels));
        int negative = Array.FindIndex(labels, v => v < 0);
        if (negative >= 0)
            throw new ArgumentException($"labeled images: label {negative} is {labels[negative]}; expected class indices ≥ 0.", nameof(labels));
        (Count, Channels, Height, Width, Pixels, Labels) = (count, channels, height, width, pixels, labels);
    }

    public int Count { get; }

    public int Channels { get; }

    public int Height { get; }

    public int Width { get; }

    /// <summary>Pixels of image i at [i·ImageSize, (i+1)·ImageSize), each image channel-major then row-major.</summary>
    public float[] Pixels { get; }

    /// <summary>The class index of each image.</summary>
    public int[] Labels { get; }

    /// <summary>Values per image: C·H·W.</summary>
    public int ImageSize => Channels * Height * Width;

    /// <summary>One more than the largest label (0 when empty).</summary>
    public int ClassCount => Count == 0 ? 0 : Labels.Max() + 1;

    /// <summary>The pixels of image <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> Image(int index)
    {
        CheckIndex(index);
        return Pixels.AsSpan(index * ImageSize, ImageSize);
    }

    /// <summary>How many images each class has, for classes 0..<paramref name="classes"/>−1 (default: <see cref="ClassCount"/>).</summary>
    public int[] CountPerClass(int? classes = null)
    {
        int n = classes ?? ClassCount;
        var counts = new int[n];
        foreach (int label in Labels)
        {
            if (label >= n) throw new ArgumentOutOfRangeException(nameof(classes), n, $"labeled images: label {label} does not fit in {n} classes.");
            counts[label]++;
        }
        return counts;
    }

    /// <summary>The images at <paramref name="indices"/> as a tensor [b, C, H, W].</summary>
    public Tensor<T> ImageBatch<T>(ReadOnlySpan<int> indices) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var batch = Tensor<T>.Zeros(indices.Length, Channels, Height, Width);
        FillImages(indices, batch.Span);
        return batch;
    }

    /// <summary>Images start..start+count−1 as a tensor [count, C, H, W].</summary>
    public Tensor<T> ImageBatch<T>(int start, int count) where T : unmanaged, IFloatingPointIeee754<T>
        => ImageBatch<T>(Range(start, count));

    /// <summary>The images at <paramref name="indices"/> flattened, as a tensor [b, C·H·W] (for MLPs and linear models).</summary>
    public Tensor<T> FlatImageBatch<T>(ReadOnlySpan<int> indices) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var batch = Tensor<T>.Zeros(indices.Length, ImageSize);
        FillImages(indices, batch.Span);
        return batch;
    }

    /// <summary>The labels at <paramref name="indices"/> (the form <c>Ops.CrossEntropy</c> takes).</summary>
    public int[] LabelBatch(ReadOnlySpan<int> indices)
    {
        var labels = new int[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            CheckIndex(indices[i]);
            labels[i] = Labels[indices[i]];
        }
        return labels;
    }

    /// <summary>The labels at <paramref name="indices"/> one-hot encoded, as a tensor [b, <paramref name="classes"/>].</summary>
    public Tensor<T> OneHotBatch<T>(ReadOnlySpan<int> indices, int classes) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 1);
        var labels = LabelBatch(indices);
        var batch = Tensor<T>.Zeros(indices.Length, classes);
        var span = batch.Span;
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] >= classes)
                throw new ArgumentOutOfRangeException(nameof(classes), classes, $"labeled images: label {labels[i]} of image {indices[i]} does not fit in {classes} classes.");
            span[i * classes + labels[i]] = T.One;
        }
        return batch;
    }

    /// <summary>A new set holding copies of the images at <paramref name="indices"/>, in that order.</summary>
    public LabeledImages Subset(ReadOnlySpan<int> indices)
    {
        int size = ImageSize;
        var pixels = new float[(long)indices.Length * size];
        var labels = new int[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            CheckIndex(indices[i]);
            Pixels.AsSpan(indices[i] * size, size).CopyTo(pixels.AsSpan(i * size, size));
            labels[i] = Labels[indices[i]];
        }
        return new LabeledImages(indices.Length, Channels, Height, Width, pixels, labels);
    }

    /// <summary>The same images (shared) with other labels, e.g. corrupted ones.</summary>
    public LabeledImages WithLabels(int[] labels) => new(Count, Channels, Height, Width, Pixels, labels);

    /// <summary>The sets one after another; all must have the same image shape.</summary>
    public static LabeledImages Concat(IReadOnlyList<LabeledImages> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count == 0) throw new ArgumentException("labeled images: nothing to concatenate.", nameof(parts));
        var first = parts[0];
        foreach (var p in parts)
        {
            if (p.Channels != first.Channels || p.Height != first.Height || p.Width != first.Width)
                throw new ArgumentException($"labeled images: cannot concatenate {p.Channels}×{p.Height}×{p.Width} images with {first.Channels}×{first.Height}×{first.Width} ones.", nameof(parts));
        }
        var pixels = parts.SelectMany(p => p.Pixels).ToArray();
        var labels = parts.SelectMany(p => p.Labels).ToArray();
        return new LabeledImages(labels.Length, first.Channels, first.Height, first.Width, pixels, labels);
    }

    public bool Equals(LabeledImages? other)
        => other is not null
           && (ReferenceEquals(this, other)
               || (Count == other.Count && Channels == other.Channels && Height == other.Height && Width == other.Width
                   && Labels.AsSpan().SequenceEqual(other.Labels) && Pixels.AsSpan().SequenceEqual(other.Pixels)));

    public override int GetHashCode() => HashCode.Combine(Count, Channels, Height, Width);

    public override string ToString() => $"LabeledImages {{ Count = {Count}, Channels = {Channels}, Height = {Height}, Width = {Width} }}";

    private void FillImages<T>(ReadOnlySpan<int> indices, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int size = ImageSize;
        for (int i = 0; i < indices.Length; i++)
        {
            CheckIndex(indices[i]);
            TensorPrimitives.ConvertChecked<float, T>(Pixels.AsSpan(indices[i] * size, size), destination.Slice(i * size, size));
        }
    }

    private void CheckIndex(int index)
    {
        if ((uint)index >= (uint)Count)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"labeled images: index {index} is outside 0..{Count - 1}.");
    }

    private int[] Range(int start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if ((long)start + count > Count)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"labeled images: images {start}..{start + count - 1} do not exist in a set of {Count}.");
        return Enumerable.Range(start, count).ToArray();
    }
}
