using System.Diagnostics.CodeAnalysis;
using Bilevel.Tensors.Internal.Kernels;
using Bilevel.Tensors.Internal.Native;

namespace Bilevel.Tensors;

/// <summary>
/// Cholesky factorisation and solves of dense symmetric positive definite systems in double, row-major, in place:
/// LAPACK's <c>dpotrf</c> and BLAS's <c>dtrsm</c> from OpenBLAS when it is loaded (single-threaded, see
/// <see cref="OpenBlas"/>; the right-hand sides of a solve are split over <see cref="TensorEngine.ThreadCount"/>
/// threads, and a factorisation of at least 256 rows goes by blocks over them, <see cref="BlockedCholesky"/>),
/// otherwise a managed implementation. The two paths agree to rounding.
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

        fixed (double* pa = a)
            if (!BlockedCholesky.Factor(pa, n)) return false;
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
        TriangularSolves(l, n, b, m, 'R');
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
        TriangularSolves(l, n, b, m, 'L');
    }

    /// <summary>Right-hand sides per thread below which a solve stays on one thread.</summary>
    private const int MinRightHandSidesPerThread = 16;

    /// <summary>
    /// Both dtrsm solves with the column-major upper factor U on the m right-hand sides of B, whose blocks of
    /// right-hand sides go to separate threads (each is solved independently of the others). Side R: B is m×n
    /// column-major (leading dimension m), a right-hand side per row, solved as X U = B then X Uᵀ = B; side L: B is
    /// n×m (leading dimension n), one per column, solved as Uᵀ X = B then U X = B.
    /// </summary>
    private static void TriangularSolves(ReadOnlySpan<double> l, int n, Span<double> b, int m, char side)
    {
        fixed (double* pl = l)
        fixed (double* pb = b)
        {
            double* factor = pl, rhs = pb;
            bool rowsAreRightHandSides = side == 'R';
            int ldb = rowsAreRightHandSides ? m : n;
            char first = rowsAreRightHandSides ? 'N' : 'T', second = rowsAreRightHandSides ? 'T' : 'N';
            Parallelism.For(m, MinRightHandSidesPerThread, (start, end) =>
            {
                // A block of rows of a column-major matrix starts at its first row; a block of columns at its first column.
                double* block = rowsAreRightHandSides ? rhs + start : rhs + (long)start * n;
                Lapack.SolveUpper(side, first, factor, n, n, block, end - start, ldb);
                Lapack.SolveUpper(side, second, factor, n, n, block, end - start, ldb);
            });
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
}
