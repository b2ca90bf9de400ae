using System.Numerics;

namespace Bilevel.Tensors.Internal;

/// <summary>
/// Native buffers, reused, in size classes: a request gets a buffer of its class's capacity (see
/// <see cref="Capacity"/>), so tensors of nearby sizes (a parameter vector and its largest block, activations of
/// batches that differ a little) share buffers instead of each size keeping buffers of its own. A training loop
/// allocates the same sizes every step, so the classes reach a steady state after the first step and the process
/// stops growing. The memory is native (see <see cref="BlockPool"/>), so native kernels take its address directly
/// and freeing it gives it back to the operating system.
/// </summary>
internal static unsafe class BufferPool<T> where T : unmanaged
{
    /// <summary>Classes a request may be served from: its own and the next sixteen (at most four times its size).</summary>
    private const int FitWindow = 17;

    /// <summary>
    /// A buffer of at least <paramref name="length"/> elements: an idle one of its class or, failing that, of one of
    /// the next sixteen classes, else a new one of its class. Taking a larger idle buffer rather than allocating keeps
    /// the pool near the true high-water mark when different sizes peak at different times (parameter-sized
    /// buffers in one phase of an estimator, activation-sized ones in another: a ConvNet's activations on a real
    /// batch of 256, then its Hessian-vector products on 100 synthetic images, 2.6× smaller, which with a window of
    /// 2× took 465 MiB where 4× takes 391 MiB).
    /// </summary>
    public static NativeBuffer<T> Rent(int length)
    {
        if (length == 0) return default;
        int capacity = Capacity(length);
        int count = capacity > ExactUpTo ? FitWindow : 1;
        Span<long> window = stackalloc long[count];
        for (int i = 0, size = capacity; i < count; i++, size = Capacity(size + 1))
            window[i] = (long)size * sizeof(T);
        var (address, bytes) = BlockPool.Rent(window);
        return new NativeBuffer<T>((T*)address, (int)(bytes / sizeof(T)));
    }

    public static void Return(NativeBuffer<T> buffer)
    {
        if (buffer.Length == 0) return;
        BlockPool.Return((nint)buffer.Pointer, (long)buffer.Length * sizeof(T));
    }

    /// <summary>Requests up to this many elements get buffers of exactly their length.</summary>
    private const int ExactUpTo = 4096;

    /// <summary>
    /// The size class of a request: exact up to 4096 elements (small buffers are cheap and often of one size), above
    /// that rounded up to one of eight steps per octave (2^e·{1, 1.125, …, 1.875}), which wastes at most 12.5% and
    /// about 6% on average (four steps per octave put the 203,530 parameters of the hypercleaning MLP, and each of
    /// their cotangents and tangents, in buffers 12.7% larger).
    /// </summary>
    internal static int Capacity(int length)
    {
        if (length <= ExactUpTo) return length;
        int step = 1 << (BitOperations.Log2((uint)length) - 3);
        long rounded = ((long)length + step - 1) / step * step;
        return (int)Math.Min(rounded, Array.MaxLength);
    }
}
