using System.Numerics;
using Bilevel.Tensors.Internal.Native;

namespace Bilevel.Tensors.Internal.Kernels;

/// <summary>
/// The one GEMM entry point: OpenBLAS when it is installed (and <c>BILEVEL_BLAS</c> is not <c>managed</c>),
/// otherwise <see cref="ManagedGemm"/>. There is no size below which the managed kernel takes over: OpenBLAS 0.3.21's
/// small-matrix kernels measured faster at every size on Zen 4 (30–120 ns for 2³–16³ against 90–700 ns managed).
/// One-row and one-column products are the exception, and go to <see cref="ManagedGemmMatrixVector"/>: a tie while
/// short, but OpenBLAS's sgemm packs its operands even then, so a long one (the 1×M·M×1 tangent ⟨θ, v⟩ of a weight
/// decay term, M = 203,530) took 380 µs against 25 µs for a plain dot product.
/// </summary>
internal static unsafe class Gemm
{
    /// <summary>The thread count OpenBLAS was last given; 0 until the first native call.</summary>
    private static int nativeThreads;

    /// <summary>True when large products go to OpenBLAS.</summary>
    public static bool UsesNativeBlas => OpenBlas.IsAvailable;

    /// <summary>
    /// C[m×n] = alpha·op(A)·op(B) + beta·C, all row-major; op(X) = Xᵀ when the flag is set. lda/ldb/ldc are row
    /// strides (elements). beta == 0 overwrites C without reading it (BLAS semantics); k == 0 or alpha == 0 gives
    /// C = beta·C. T is float or double.
    /// </summary>
    public static void Multiply<T>(
        bool transposeA, bool transposeB, int m, int n, int k,
        T alpha, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        GemmArguments.EnsureSupported<T>();
        GemmArguments.Validate(transposeA, transposeB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);

        // Empty products and alpha == 0 stay managed, where their BLAS semantics are spelled out; so do matrix-vector ones.
        if (UsesNativeBlas && m > 1 && n > 1 && k > 0 && alpha != T.Zero)
            MultiplyNative(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        else
            ManagedGemm.Multiply(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    private static void MultiplyNative<T>(
        bool transposeA, bool transposeB, int m, int n, int k,
        T alpha, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // openblas_set_num_threads reconfigures its pool, so only call it when the setting actually changed.
        int threads = TensorEngine.ThreadCount;
        if (threads != nativeThreads)
        {
            OpenBlas.SetNumThreads(threads);
            nativeThreads = threads;
        }

        int ta = transposeA ? OpenBlas.Trans : OpenBlas.NoTrans, tb = transposeB ? OpenBlas.Trans : OpenBlas.NoTrans;
        fixed (T* pa = a)
        fixed (T* pb = b)
        fixed (T* pc = c)
        {
            if (typeof(T) == typeof(float))
            {
                OpenBlas.Sgemm(OpenBlas.RowMajor, ta, tb, m, n, k,
                    float.CreateTruncating(alpha), (float*)pa, lda, (float*)pb, ldb, float.CreateTruncating(beta), (float*)pc, ldc);
            }
            else
            {
                OpenBlas.Dgemm(OpenBlas.RowMajor, ta, tb, m, n, k,
                    double.CreateTruncating(alpha), (double*)pa, lda, (double*)pb, ldb, double.CreateTruncating(beta), (double*)pc, ldc);
            }
        }
    }
}
