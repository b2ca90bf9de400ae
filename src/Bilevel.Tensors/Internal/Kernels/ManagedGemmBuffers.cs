using System.Runtime.InteropServices;

namespace Bilevel.Tensors.Internal.Kernels;

/// <summary>
/// Per-thread pack buffers, kept for the thread's lifetime so a loop of GEMMs allocates nothing after warm-up.
/// Arrays live on the pinned object heap, so their addresses are stable and can be aligned once: the microkernel's
/// vector loads from packed B then never straddle a cache line.
/// </summary>
internal static unsafe class ManagedGemmBuffers<T> where T : unmanaged
{
    private const int Alignment = 64;

    [ThreadStatic] private static T[]? storage;

    /// <summary>
    /// A 64-byte-aligned block of at least <paramref name="length"/> elements, valid until this thread asks again.
    /// Contents are unspecified.
    /// </summary>
    public static T* Get(int length)
    {
        int slack = Alignment / sizeof(T);
        if (storage is null || storage.Length < length + slack)
            storage = GC.AllocateUninitializedArray<T>(length + slack, pinned: true);

        var address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(storage));
        return (T*)((address + Alignment - 1) & ~(nint)(Alignment - 1));
    }
}
