using Bilevel.Tensors.Internal.Native;

namespace Bilevel.Tensors.Internal;

/// <summary>
/// Idle native blocks by exact byte size (float and double buffers share them: the memory is untyped), and the
/// policy for giving idle memory back to the operating system. <see cref="BufferPool{T}"/> decides the sizes.
/// </summary>
internal static unsafe class BlockPool
{
    /// <summary>Bytes the pool may hold idle; blocks returned beyond this are freed.</summary>
    private const long MaxIdleBytes = 2L << 30;

    private static readonly Dictionary<long, SizeClass> Classes = [];
    private static readonly Lock Gate = new();
    private static long idleBytes, requests, freshBlocks;

    public static long IdleBytes => Interlocked.Read(ref idleBytes);

    /// <summary>Blocks allocated from the operating system so far (requests no idle block served).</summary>
    public static long FreshBlocks => Interlocked.Read(ref freshBlocks);

    /// <summary>
    /// An idle block of the first size in <paramref name="window"/> that has one or, failing that, a new block of
    /// <c>window[0]</c> bytes; returns its address and size.
    /// <para>
    /// Release on miss: before a new block of <see cref="NativeAllocator.MapThreshold"/> bytes or more is
    /// allocated, idle blocks of the sizes requested least recently are freed until the idle bytes have dropped by
    /// the new block's size (or none are left), so that live + idle memory does not grow while memory of sizes
    /// nobody asks for sits idle. This is what lets the process shrink when an algorithm moves to a phase with other
    /// tensor sizes. The price is paid at a phase change: the new phase's first requests miss and fault in fresh
    /// pages, and switching back costs the same again. A loop whose sizes are live together (or fit in one another's
    /// window) finds them all idle after its first pass and never misses, so never frees. A loop that goes through
    /// sizes idle at different times within a pass is a phase change at every turn, and pays it every pass: a
    /// ConvNet HVP (batch 64, 64 channels, float) remaps about 356 of its 552 MiB peak each step, where a pool that
    /// kept every size would remap nothing. Smaller blocks come from malloc, which keeps freed ones for reuse rather
    /// than returning them, so they are not worth freeing here.
    /// </para>
    /// </summary>
    public static (nint Address, long Bytes) Rent(ReadOnlySpan<long> window)
    {
        long bytes = window[0];
        List<(nint Address, long Bytes)>? released = null;
        nint address = 0;
        lock (Gate)
        {
            long now = ++requests;
            Class(bytes).LastRequested = now;
            foreach (long size in window)
            {
                if (Classes.TryGetValue(size, out var idle) && idle.Blocks.Count > 0)
                {
                    idle.LastRequested = now;
                    idleBytes -= size;
                    address = idle.Blocks.Pop();
                    bytes = size;
                    break;
                }
            }
            if (address == 0)
            {
                freshBlocks++;
                if (bytes >= NativeAllocator.MapThreshold) released = TakeLeastRecent(idleBytes - bytes, mappedOnly: true);
            }
        }
        Free(released);
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
                Class(bytes).Blocks.Push(address);
                idleBytes += bytes;
                return;
            }
        }
        NativeAllocator.Free((void*)address, bytes);
    }

    /// <summary>Frees every idle block; returns the bytes freed.</summary>
    public static long ReleaseIdle()
    {
        List<(nint Address, long Bytes)> released;
        lock (Gate)
        {
            released = TakeLeastRecent(0, mappedOnly: false) ?? [];
        }
        Free(released);
        return released.Sum(block => block.Bytes);
    }

    /// <summary>
    /// Removes idle blocks (of mapped sizes only, if so asked), least recently requested sizes first, until the idle
    /// bytes are at most <paramref name="target"/>; the caller frees them outside the lock, so that other threads'
    /// requests do not wait for munmap.
    /// </summary>
    private static List<(nint Address, long Bytes)>? TakeLeastRecent(long target, bool mappedOnly)
    {
        List<(nint Address, long Bytes)>? taken = null;
        while (idleBytes > target)
        {
            SizeClass? oldest = null;
            foreach (var c in Classes.Values)
            {
                if (c.Blocks.Count > 0 && (!mappedOnly || c.Bytes >= NativeAllocator.MapThreshold)
                    && (oldest is null || c.LastRequested < oldest.LastRequested))
                    oldest = c;
            }
            if (oldest is null) break;
            while (oldest.Blocks.Count > 0 && idleBytes > target)
            {
                (taken ??= []).Add((oldest.Blocks.Pop(), oldest.Bytes));
                idleBytes -= oldest.Bytes;
            }
        }
        return taken;
    }

    private static void Free(List<(nint Address, long Bytes)>? blocks)
    {
        if (blocks is null) return;
        foreach (var (address, bytes) in blocks) NativeAllocator.Free((void*)address, bytes);
    }

    private static SizeClass Class(long bytes)
    {
        if (!Classes.TryGetValue(bytes, out var c)) Classes[bytes] = c = new SizeClass(bytes);
        return c;
    }

    private sealed class SizeClass(long bytes)
    {
        public long Bytes { get; } = bytes;

        public Stack<nint> Blocks { get; } = new();

        /// <summary>The request count when this size was last asked for (or handed out from the fit window).</summary>
        public long LastRequested { get; set; }
    }
}
