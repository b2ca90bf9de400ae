using System.Numerics;
using System.Numerics.Tensors;

namespace Bilevel.Tensors.Internal.Kernels;

/// <summary>
/// GEMM with a single row or column of C: memory-bound, so it reads each operand once and packs nothing. Every
/// element of C is computed whole by one thread, which keeps the result independent of the thread count.
/// </summary>
internal static unsafe class ManagedGemmMatrixVector
{
    /// <summary>Rows of A read per thread at least, when the rows are split.</summary>
    private const int MinElementsPerThread = 1 << 15;

    /// <summary>As <see cref="Gemm.Multiply"/> for m == 1 or n == 1, with k ≥ 1 and validated operands, on at most <paramref name="threads"/> threads.</summary>
    public static void Multiply<T>(
        bool transposeA, bool transposeB, int m, int n, int k,
        T alpha, T* a, nint lda, T* b, nint ldb, T beta, T* c, nint ldc, int threads)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (n != 1)
        {
            // One row of C is one column of Cᵀ = op(B)ᵀ·op(A)ᵀ, whose elements are C's row, contiguous.
            Multiply(!transposeB, !transposeA, n, 1, k, alpha, b, ldb, a, lda, beta, c, 1, threads);
            return;
        }

        // C[:, 0] = alpha·op(A)·x + beta·C[:, 0], with x[q] = op(B)[q, 0].
        nint xStride = transposeB ? 1 : ldb;
        if (transposeA)
        {
            // op(A)[i, q] = A[q, i]: accumulate rows of A scaled by x[q], in q order.
            var y = new Span<T>(ManagedGemmBuffers<T>.Get(m), m);
            y.Clear();
            for (int q = 0; q < k; q++)
                TensorPrimitives.FusedMultiplyAdd(new ReadOnlySpan<T>(a + q * lda, m), b[q * xStride], y, y);
            for (int i = 0; i < m; i++)
                c[i * ldc] = ManagedGemm.Merge(alpha, y[i], beta, c[i * ldc]);
            return;
        }

        // op(A)[i, q] = A[i, q]: one dot product per row, against x made contiguous first if it is strided.
        T* x = b;
        if (xStride != 1)
        {
            x = ManagedGemmBuffers<T>.Get(k);
            for (int q = 0; q < k; q++)
                x[q] = b[q * xStride];
        }
        // Rows split over the kernel threads when there is enough to read ([b, M]·[M, 1]: the tangents of ⟨θ, θ⟩);
        // each dot product stays whole on one thread.
        int parts = Math.Min(threads, Parallelism.ChunkCount(m, Math.Max(1, MinElementsPerThread / k)));
        if (parts <= 1)
            Dots(0, m, k, alpha, a, lda, x, beta, c, ldc);
        else
            DotsInParallel(m, parts, k, alpha, a, lda, x, beta, c, ldc);
    }

    /// <summary>Apart from <see cref="Multiply"/>, so that the one-thread path allocates no closure.</summary>
    private static void DotsInParallel<T>(int m, int parts, int k, T alpha, T* a, nint lda, T* x, T beta, T* c, nint ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Parallelism.ForChunks(m, parts, (_, start, end) => Dots(start, end, k, alpha, a, lda, x, beta, c, ldc));

    /// <summary>C[i, 0] = alpha·⟨A[i, :], x⟩ + beta·C[i, 0] for rows start..end.</summary>
    private static void Dots<T>(int start, int end, int k, T alpha, T* a, nint lda, T* x, T beta, T* c, nint ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var xs = new ReadOnlySpan<T>(x, k);
        for (int i = start; i < end; i++)
            c[i * ldc] = ManagedGemm.Merge(alpha, TensorPrimitives.Dot(new ReadOnlySpan<T>(a + i * lda, k), xs), beta, c[i * ldc]);
    }
}
