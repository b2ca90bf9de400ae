using System.Numerics;

namespace Bilevel.Tensors.Internal.Kernels;

/// <summary>Which register-blocked microkernel the managed GEMM runs.</summary>
internal enum ManagedGemmKernel
{
    /// <summary>512-bit vectors, 12×2 registers of accumulators (needs AVX-512's 32 vector registers).</summary>
    Vector512,

    /// <summary><see cref="Vector{T}"/>, 6×2 registers of accumulators: fits the 16 registers of AVX2 and smaller SIMD.</summary>
    Vector,
}

/// <summary>
/// A microkernel computes one <see cref="Rows"/>×<see cref="Columns"/> tile of C from packed panels, keeping the
/// whole tile in registers across the k loop. Implemented by structs so the driver is specialised per kernel and
/// these members inline to constants.
/// </summary>
internal unsafe interface IManagedGemmKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>MR: rows of the tile, the broadcast operand (A).</summary>
    static abstract int Rows { get; }

    /// <summary>NR: columns of the tile, a whole number of vectors of B.</summary>
    static abstract int Columns { get; }

    /// <summary>
    /// tile = Σ_p a[p·Rows + i]·b[p·Columns + j] over p &lt; kc, summed in p order; then
    /// C[i, j] = alpha·tile + scale·C[i, j], where scale == 0 overwrites C without reading it.
    /// </summary>
    static abstract void Run(int kc, T* a, T* b, T* c, nint ldc, T alpha, T scale);
}
