using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using Bilevel.Tensors.Internal;
using Bilevel.Tensors.Internal.Kernels;

namespace Bilevel.Tensors;

/// <summary>
/// A dense row-major tensor of float or double whose buffer comes from a pool. It may carry a batch of tangents
/// (forward mode: shape [b, ..Shape]) and a node on the current tape (reverse mode). A tensor belongs to the
/// <see cref="TensorScope"/> active when it was created and is returned to the pool when that scope ends, unless
/// kept; reading a tensor after that throws <see cref="ObjectDisposedException"/>.
/// </summary>
public sealed partial class Tensor<T> : IDisposable, IScopedResource
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private Storage<T>? storage;

    /// <summary>Where this tensor's elements start in its storage: 0, or a view's position (see <see cref="View"/>).</summary>
    private readonly int offset;

    internal Tensor(Shape shape, Storage<T> storage, int offset = 0)
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
            throw new NotSupportedException($"Tensors hold float or double, not {typeof(T).Name}.");
        Shape = shape;
        this.storage = storage;
        this.offset = offset;
        TensorScope.Adopt(this);
    }

    public Shape Shape { get; }

    public int Length => Shape.Length;

    public int Rank => Shape.Rank;

    /// <summary>Forward-mode tangents, stacked along a leading axis: shape [b, ..Shape]; null means zero.</summary>
    public Tensor<T>? Tangent { get; internal set; }

    /// <summary>Number of stacked tangents, or 0 when none.</summary>
    public int TangentCount => Tangent?.Shape[0] ?? 0;

    /// <summary>The node that produced this tensor on the current reverse-mode tape, if any.</summary>
    internal Node<T>? Node { get; set; }

    TensorScope? IScopedResource.Owner { get; set; }

    public bool IsDisposed => storage is null;

    /// <summary>The elements in row-major order.</summary>
    public Span<T> Span => Buffer.AsSpan(0, Length);

    /// <summary>The pooled native buffer (possibly longer than <see cref="Length"/>); for kernels.</summary>
    internal NativeBuffer<T> Buffer => (storage ?? ThrowDisposed<Storage<T>>()).Buffer.From(offset);

    public static Tensor<T> Zeros(Shape shape)
    {
        var t = Uninitialized(shape);
        Elementwise.Clear(t.Buffer, t.Length);
        return t;
    }

    public static Tensor<T> Zeros(params int[] dims) => Zeros(new Shape(dims));

    public static Tensor<T> Full(Shape shape, T value)
    {
        var t = Uninitialized(shape);
        Elementwise.Fill(t.Buffer, t.Length, value);
        return t;
    }

    public static Tensor<T> Scalar(T value) => Full(Shape.Scalar, value);

    /// <summary>Copies <paramref name="data"/> into a new tensor of the given shape.</summary>
    public static Tensor<T> FromSpan(ReadOnlySpan<T> data, Shape shape)
    {
        if (data.Length != shape.Length)
            throw new ArgumentException($"tensor: {data.Length} values do not fill shape {shape} ({shape.Length} elements).", nameof(data));
        var t = Uninitialized(shape);
        data.CopyTo(t.Span);
        return t;
    }

    public static Tensor<T> FromArray(T[] data, params int[] dims) => FromSpan(data, new Shape(dims));

    /// <summary>A tensor whose contents are whatever the pooled buffer held; the caller overwrites every element.</summary>
    internal static Tensor<T> Uninitialized(Shape shape) => new(shape, new Storage<T>(shape.Length));

    /// <summary>A new tensor object over the same buffer with another shape of equal length; no tangent, no node.</summary>
    internal Tensor<T> Alias(Shape shape) => View(0, shape);

    /// <summary>
    /// A new tensor object over <paramref name="shape"/>.Length elements of this one's buffer from element
    /// <paramref name="start"/> on; no tangent, no node. It keeps the whole buffer alive; like every tensor, it is
    /// never written after the op that made it, so sharing is safe.
    /// </summary>
    internal Tensor<T> View(int start, Shape shape)
    {
        var s = storage ?? ThrowDisposed<Storage<T>>();
        if (start < 0 || start + shape.Length > Length)
            throw new ArgumentOutOfRangeException(nameof(start), $"A view of {shape.Length} elements at {start} does not fit a tensor of {Length}.");
        s.AddReference();
        return new Tensor<T>(shape, s, offset + start);
    }

    public T[] ToArray() => Span.ToArray();

    /// <summary>The single value of a one-element tensor.</summary>
    public T Item()
    {
        if (Length != 1)
            throw new InvalidOperationException($"item: tensor of shape {Shape} has {Length} elements, not 1.");
        return Span[0];
    }

    public double ItemAsDouble() => double.CreateChecked(Item());

    /// <summary>Returns the buffer to the pool (and the tangents with it). Idempotent.</summary>
    public void Dispose()
    {
        // Disowned, so that its scope drops it from its list: a long-lived scope whose tensors are disposed by hand
        // (old parameters replaced each step) must not hold every one of them until it ends.
        ((IScopedResource)this).Owner = null;
        Tangent?.Dispose();
        var s = Interlocked.Exchange(ref storage, null);
        s?.Release();
    }

    void IScopedResource.Release() => Dispose();

    IEnumerable<IScopedResource> IScopedResource.Dependents()
    {
        if (Tangent is not null) yield return Tangent;
    }

    public override string ToString() => IsDisposed ? $"Tensor<{typeof(T).Name}>{Shape} (disposed)" : $"Tensor<{typeof(T).Name}>{Shape}";

    [DoesNotReturn]
    private TResult ThrowDisposed<TResult>() =>
        throw new ObjectDisposedException($"Tensor<{typeof(T).Name}>{Shape}", "The tensor was disposed (its scope ended or Dispose was called) and its buffer returned to the pool; keep it with TensorScope.Keep to use it later.");
}
