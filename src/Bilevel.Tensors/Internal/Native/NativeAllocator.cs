using System.Runtime.InteropServices;

namespace Bilevel.Tensors.Internal.Native;

/// <summary>
/// Memory for tensor buffers, outside the garbage-collected heap so that freeing it gives it back to the operating
/// system at once. On Linux blocks of <see cref="MapThreshold"/> bytes or more are anonymous mappings, which
/// <c>munmap</c> returns whole (malloc would keep freed blocks in its arenas); smaller blocks, and every block
/// elsewhere, come from the C runtime's aligned allocator.
/// </summary>
internal static unsafe partial class NativeAllocator
{
    /// <summary>Blocks of at least this many bytes are mapped (on Linux); smaller ones are cheap to keep in malloc.</summary>
    public const long MapThreshold = 64 << 10;

    /// <summary>Cache-line alignment, so vector loads never straddle a line.</summary>
    private const nuint Alignment = 64;

    private static readonly bool Maps = OperatingSystem.IsLinux();

    // <sys/mman.h>, the same on every Linux architecture .NET runs on.
    private const int ProtRead = 0x1, ProtWrite = 0x2;
    private const int MapPrivate = 0x02, MapAnonymous = 0x20, MapPopulate = 0x8000;
    private static readonly void* MapFailed = (void*)-1;

    /// <summary>
    /// A zeroed block of <paramref name="bytes"/> bytes whose pages are already resident. Resident because a block is
    /// lent to requests of several sizes over its life: were its pages faulted in lazily, the process would keep
    /// growing page by page long after the pool stopped growing, and a peak measured on the first call would miss
    /// them. Mapped blocks get this from <c>MAP_POPULATE</c> (the kernel faults them in without our writing them);
    /// malloc'd ones are cleared.
    /// </summary>
    public static void* Allocate(long bytes)
    {
        if (Maps && bytes >= MapThreshold)
        {
            void* mapped = Mmap(null, (nuint)bytes, ProtRead | ProtWrite, MapPrivate | MapAnonymous | MapPopulate, -1, 0);
            if (mapped == MapFailed)
                throw new OutOfMemoryException($"mmap of a {bytes}-byte tensor buffer failed (errno {Marshal.GetLastPInvokeError()}).");
            return mapped;
        }
        void* block = NativeMemory.AlignedAlloc((nuint)bytes, Alignment);
        NativeMemory.Clear(block, (nuint)bytes);
        return block;
    }

    /// <summary>Frees a block from <see cref="Allocate"/>; <paramref name="bytes"/> is the size it was allocated with.</summary>
    public static void Free(void* block, long bytes)
    {
        if (Maps && bytes >= MapThreshold)
        {
            if (Munmap(block, (nuint)bytes) != 0)
                throw new InvalidOperationException($"munmap of a {bytes}-byte tensor buffer failed (errno {Marshal.GetLastPInvokeError()}).");
            return;
        }
        NativeMemory.AlignedFree(block);
    }

    // "libc" is mapped by the runtime to the platform's C library (libc.so.6 on glibc); only called on Linux.
    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial void* Mmap(void* address, nuint length, int protection, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static partial int Munmap(void* address, nuint length);
}
