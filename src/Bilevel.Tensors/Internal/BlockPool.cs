using Bilevel.Tensors.Internal.Native;

namespace Bilevel.Tensors.Internal;

/// <summary>
/// Idle native blocks by exact byte size (float and double buffers share them: the memory is untyped), given back
/// to the operating system on <see cref="ReleaseIdle"/>. <see cref="BufferPool{T}"/> decides the sizes.
/// </summary>
internal static unsafe class BlockPool
{
    /// <summary>Bytes the pool may hold idle; blocks returned beyond this are freed.</summary>
    private const long MaxIdleBytes = 2L << 30;

    private static readonly Dictionary<long, Stack<nint>> Classes = [];
    private static readonly Lock Gate = new();
    private static long idleBytes, freshBlocks;

    public static long IdleBytes => Interlocked.Read(ref idleBytes);

    /// <summary>Blocks allocated from the operating system so far (requests no idle block served).</summary>
    public static long FreshBlocks => Interlocked.Read(ref freshBlocks);

    /// <summary>
    /// An idle block of the first size in <paramref name="window"/> that has one or, failing that, a new block of
    /// <c>window[0]</c> bytes; returns its address and size.
    /// <para>
    /// Idle blocks are kept, whatever their size, until <see cref="ReleaseIdle"/>: a loop that goes through sizes
    /// idle at different times within a pass (a ConvNet Hessian-vector product) then finds every size idle from its
    /// second pass on. Freeing the least recently requested sizes on a miss instead kept the footprint at the live
    /// high-water mark, but made such a loop unmap and fault in about 356 of its 552 MiB again at every step; a
    /// worker gives a finished trial's sizes back with <see cref="ReleaseIdle"/>.
    /// </para>
    /// </summary>
    public static (nint Address, long Bytes) Rent(ReadOnlySpan<long> window)
    {
        long bytes = window[0];
        nint address = 0;
        lock (Gate)
        {
            foreach (long size in window)
            {
                if (Classes.TryGetValue(size, out var idle) && idle.Count > 0)
                {
                    idleBytes -= size;
                    address = idle.Pop();
                    bytes = size;
                    break;
                }
            }
            if (address == 0) freshBlocks++;
        }
        if (address == 0) address = (nint)NativeAllocator.Allocate(bytes);
        TensorMemory.Rented(bytes);
        return (address, bytes);
    }

    public static void Return(nint address, long bytes)
    {
        TensorMemory.Returned(bytes);
        lock (Gate)
        {
            if (idleBytes + bytes <= MaxIdleBytes)
            {
                if (!Classes.TryGetValue(bytes, out var blocks)) Classes[bytes] = blocks = new Stack<nint>();
                blocks.Push(address);
                idleBytes += bytes;
                return;
            }
        }
        NativeAllocator.Free((void*)address, bytes);
    }

    /// <summary>Frees every idle block; returns the bytes freed.</summary>
    public static long ReleaseIdle()
    {
        List<(nint Address, long Bytes)> released = [];
        lock (Gate)
        {
            foreach (var (bytes, blocks) in Classes)
                while (blocks.Count > 0) released.Add((blocks.Pop(), bytes));
            idleBytes = 0;
        }
        // Outside the lock, so that other threads' requests do not wait for munmap.
        Free(released);
        return released.Sum(block => block.Bytes);
    }

    private static void Free(List<(nint Address, long Bytes)> blocks)
    {
        foreach (var (address, bytes) in blocks) NativeAllocator.Free((void*)address, bytes);
    }
}
