using System.Numerics;
using System.Numerics.Tensors;

namespace Bilevel.Tensors.Internal.Kernels;

/// <summary>
/// GEMM with a single row or column of C: memory-bound, so it reads each operand once and packs nothing.
/// Runs on the calling thread, which keeps the result independent of the thread count.
/// </summary>
internal static unsafe class ManagedGemmMatrixVector
{
    /// <summary>As <see cref="Gemm.Multiply"/> for m == 1 or n == 1, with k ≥ 1 and validated operands.</summary>
    public static void Multiply<T>(
        bool transposeA, bool transposeB, int m, int n, int k,
        T alpha, T* a, nint lda, T* b, nint ldb, T beta, T* c, nint ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (n != 1)
        {
            // One row of C is one column of Cᵀ = op(B)ᵀ·op(A)ᵀ, whose elements are C's row, contiguous.
            Multiply(!transposeB, !transposeA, n, 1, k, alpha, b, ldb, a, lda, beta, c, 1);
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
        var xs = new ReadOnlySpan<T>(x, k);
        for (int i = 0; i < m; i++)
            c[i * ldc] = ManagedGemm.Merge(alpha, TensorPrimitives.Dot(new ReadOnlySpan<T>(a + i * lda, k), xs), beta, c[i * ldc]);
    }
}
