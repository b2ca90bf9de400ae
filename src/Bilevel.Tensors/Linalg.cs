using System.Diagnostics.CodeAnalysis;
using Bilevel.Tensors.Internal.Kernels;
using Bilevel.Tensors.Internal.Native;

namespace Bilevel.Tensors;

/// <summary>
/// Cholesky factorisation and solves of dense symmetric positive definite systems in double, row-major, in place:
/// LAPACK's <c>dpotrf</c> and BLAS's <c>dtrsm</c> from OpenBLAS when it is loaded (with
/// <see cref="TensorEngine.ThreadCount"/> threads), otherwise a managed implementation. The two paths agree to rounding.
/// </summary>
/// <remarks>
/// A row-major lower triangle is LAPACK's column-major upper one (A is symmetric, so it is its own transpose), and
/// B [n, m] row-major is the column-major m×n matrix Bᵀ: both solves run on the caller's layout without transposes.
/// </remarks>
public static unsafe class Linalg
{
    /// <summary>True when the factorisation and solves run in OpenBLAS.</summary>
    public static bool UsesNativeLapack => Lapack.IsAvailable;

    /// <summary>
    /// Overwrites the lower triangle of the symmetric row-major [n, n] matrix <paramref name="a"/> (only that triangle
    /// is read) with its Cholesky factor L, A = L Lᵀ; the strict upper triangle is left as it was. Returns false,
    /// with <paramref name="a"/> partly overwritten, when A is not positive definite in double precision or its lower
    /// triangle holds a NaN or an infinity.
    /// </summary>
    public static bool CholeskyFactorInPlace(Span<double> a, int n)
    {
        CheckSquare(a.Length, n, nameof(a));
        if (n == 0) return true;
        if (!UsesNativeLapack) return ManagedCholesky.Factor(a, n);

        byte upper = (byte)'U';
        int order = n, info;
        using (new EngineThreads())
        {
            fixed (double* pa = a)
                Lapack.Dpotrf(&upper, &order, pa, &order, &info, 1);
        }
        if (info < 0) ThrowLapack("dpotrf", info);
        if (info > 0) return false;
        // dpotrf stops only at a pivot ≤ 0; a NaN compares false with everything and would pass, so check the diagonal.
        for (int i = 0; i < n; i++)
            if (!(a[i * n + i] > 0) || !double.IsFinite(a[i * n + i])) return false;
        return true;
    }

    /// <summary>
    /// Overwrites <paramref name="b"/>, row-major [n, m] (the right-hand sides are its m columns), with A⁻¹ B, where
    /// <paramref name="l"/> holds A's factor from <see cref="CholeskyFactorInPlace"/>.
    /// </summary>
    public static void CholeskySolveInPlace(ReadOnlySpan<double> l, int n, Span<double> b, int m)
    {
        CheckSolve(l.Length, n, b.Length, m);
        if (n == 0 || m == 0) return;
        if (!UsesNativeLapack)
        {
            ManagedCholesky.SolveColumns(l, n, b, m);
            return;
        }
        // Column-major, the buffer is Bᵀ [m, n] and L is U = Lᵀ with A = UᵀU: Bᵀ A⁻¹ = (Bᵀ U⁻¹) U⁻ᵀ, two right-side solves.
        using var threads = new EngineThreads();
        TriangularSolve(l, n, b, m, 'R', 'N');
        TriangularSolve(l, n, b, m, 'R', 'T');
    }

    /// <summary>
    /// Overwrites <paramref name="b"/>, row-major [m, n] (the right-hand sides are its m rows), with B A⁻¹, that is
    /// each row x with A⁻¹ x, where <paramref name="l"/> holds A's factor from <see cref="CholeskyFactorInPlace"/>.
    /// </summary>
    public static void CholeskySolveRowsInPlace(ReadOnlySpan<double> l, int n, Span<double> b, int m)
    {
        CheckSolve(l.Length, n, b.Length, m);
        if (n == 0 || m == 0) return;
        if (!UsesNativeLapack)
        {
            ManagedCholesky.SolveRows(l, n, b, m);
            return;
        }
        // Column-major, the buffer is Bᵀ [n, m], one right-hand side per column: A⁻¹ Bᵀ = U⁻¹ (U⁻ᵀ Bᵀ), as dpotrs does.
        using var threads = new EngineThreads();
        TriangularSolve(l, n, b, m, 'L', 'T');
        TriangularSolve(l, n, b, m, 'L', 'N');
    }

    /// <summary>One dtrsm with the column-major upper factor U: op(U) X = B (side L) or X op(U) = B (side R), X over B.</summary>
    private static void TriangularSolve(ReadOnlySpan<double> l, int n, Span<double> b, int m, char side, char transpose)
    {
        byte s = (byte)side, upper = (byte)'U', t = (byte)transpose, nonUnit = (byte)'N';
        // Side L: B is n×m column-major (leading dimension n); side R: m×n (leading dimension m).
        int rows = side == 'L' ? n : m, cols = side == 'L' ? m : n, order = n, ldb = rows;
        double one = 1;
        fixed (double* pl = l)
        fixed (double* pb = b)
            Lapack.Dtrsm(&s, &upper, &t, &nonUnit, &rows, &cols, &one, pl, &order, pb, &ldb, 1, 1, 1, 1);
    }

    /// <summary>
    /// Gives OpenBLAS <see cref="TensorEngine.ThreadCount"/> threads for the calls in its scope and then restores the
    /// count it found: the GEMM dispatcher caches the count it last set, so it must find that count unchanged.
    /// openblas_set_num_threads reconfigures its pool, so neither call is made when the counts agree.
    /// </summary>
    private readonly struct EngineThreads : IDisposable
    {
        private readonly int previous, threads;

        public EngineThreads()
        {
            previous = OpenBlas.GetNumThreads();
            threads = TensorEngine.ThreadCount;
            if (threads != previous) OpenBlas.SetNumThreads(threads);
        }

        public void Dispose()
        {
            if (threads != previous) OpenBlas.SetNumThreads(previous);
        }
    }

    private static void CheckSquare(int length, int n, string name)
    {
        if (n < 0 || length != (long)n * n)
            ThrowArgument($"linalg: a {n}×{n} matrix needs {(long)n * n} entries, got {length}.", name);
    }

    private static void CheckSolve(int factorLength, int n, int rhsLength, int m)
    {
        CheckSquare(factorLength, n, "l");
        if (m < 0 || rhsLength != (long)n * m)
            ThrowArgument($"linalg: {m} right-hand sides of a {n}×{n} system need {(long)n * m} entries, got {rhsLength}.", "b");
    }

    [DoesNotReturn]
    private static void ThrowArgument(string message, string name) => throw new ArgumentException(message, name);

    [DoesNotReturn]
    private static void ThrowLapack(string routine, int info) =>
        throw new InvalidOperationException($"linalg: {routine} rejected argument {-info}; this is a bug in Linalg.");
}
