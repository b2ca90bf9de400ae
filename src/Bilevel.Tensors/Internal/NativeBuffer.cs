using System.Diagnostics.CodeAnalysis;

namespace Bilevel.Tensors.Internal;

/// <summary>
/// A pooled native buffer seen as elements of T: a pointer and a capacity. A struct rather than a span so that
/// kernels' parallel lambdas can capture it; indexing and slicing are bounds-checked like an array's. It owns
/// nothing: whoever rented it (a <see cref="Storage{T}"/>, a kernel's scratch) returns it to the pool, after which
/// no copy may be used.
/// </summary>
internal readonly unsafe struct NativeBuffer<T>(T* pointer, int length) where T : unmanaged
{
    public T* Pointer { get; } = pointer;

    /// <summary>Capacity in elements (the size class's, possibly more than a tensor's length).</summary>
    public int Length { get; } = length;

    public Span<T> Span => new(Pointer, Length);

    public ref T this[int index]
    {
        get
        {
            if ((uint)index >= (uint)Length) ThrowIndex(index);
            return ref Pointer[index];
        }
    }

    public Span<T> AsSpan(int start) => Span[start..];

    /// <summary>The elements from <paramref name="start"/> on, as a buffer of their own (a view's).</summary>
    public NativeBuffer<T> From(int start)
    {
        if ((uint)start > (uint)Length) ThrowIndex(start);
        return new NativeBuffer<T>(Pointer + start, Length - start);
    }

    public Span<T> AsSpan(int start, int length) => Span.Slice(start, length);

    [DoesNotReturn]
    private void ThrowIndex(int index) =>
        throw new ArgumentOutOfRangeException(nameof(index), index, $"Outside a buffer of {Length} elements.");
}
