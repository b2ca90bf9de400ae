using System.Runtime.InteropServices;

namespace Bilevel.Tensors.Internal.Native;

/// <summary>
/// The Fortran-ABI routines of the loaded OpenBLAS that the Cholesky API needs: LAPACK's <c>dpotrf_</c>, and BLAS's
/// <c>dtrsm_</c>, <c>dsyrk_</c> and <c>dgemm_</c> for the solves and the blocked factorisation over threads
/// (<see cref="Kernels.BlockedCholesky"/>); OpenBLAS exports all four, and has no CBLAS-style LAPACK. Every argument
/// goes by pointer and matrices are column-major, so a row-major buffer is seen transposed. The trailing lengths are the hidden string-length
/// arguments gfortran adds for each character argument; OpenBLAS's own C implementations ignore them, a
/// reference-LAPACK build reads them.
/// </summary>
internal static unsafe partial class Lapack
{
    // The logical name OpenBlas's resolver maps to the library it loaded.
    private const string Library = "bilevel-openblas";

    /// <summary>True when OpenBLAS is in use and exports every routine.</summary>
    public static bool IsAvailable { get; } = OpenBlas.IsAvailable && new[] { "dpotrf_", "dtrsm_", "dsyrk_", "dgemm_" }.All(OpenBlas.Exports);

    [LibraryImport(Library, EntryPoint = "dpotrf_")]
    public static partial void Dpotrf(byte* uplo, int* n, double* a, int* lda, int* info, nint uploLength);

    [LibraryImport(Library, EntryPoint = "dtrsm_")]
    public static partial void Dtrsm(
        byte* side, byte* uplo, byte* transA, byte* diag, int* m, int* n, double* alpha, double* a, int* lda, double* b, int* ldb,
        nint sideLength, nint uploLength, nint transALength, nint diagLength);

    [LibraryImport(Library, EntryPoint = "dsyrk_")]
    public static partial void Dsyrk(
        byte* uplo, byte* trans, int* n, int* k, double* alpha, double* a, int* lda, double* beta, double* c, int* ldc,
        nint uploLength, nint transLength);

    [LibraryImport(Library, EntryPoint = "dgemm_")]
    public static partial void Dgemm(
        byte* transA, byte* transB, int* m, int* n, int* k, double* alpha, double* a, int* lda, double* b, int* ldb, double* beta, double* c, int* ldc,
        nint transALength, nint transBLength);

    /// <summary>
    /// dpotrf on the n×n upper triangle at <paramref name="a"/> (leading dimension <paramref name="lda"/>): true when
    /// every pivot was positive, as info = 0; an argument dpotrf rejects is a bug of the caller's and throws.
    /// </summary>
    public static bool FactorUpper(double* a, int n, int lda)
    {
        byte upper = (byte)'U';
        int order = n, ld = lda, info;
        Dpotrf(&upper, &order, a, &ld, &info, 1);
        if (info < 0) throw new InvalidOperationException($"linalg: dpotrf rejected argument {-info}; this is a bug in its caller.");
        return info == 0;
    }

    /// <summary>
    /// dtrsm with the upper factor U of order <paramref name="n"/> at <paramref name="u"/> (leading dimension
    /// <paramref name="ldu"/>): op(U) X = B (side L, B n×count) or X op(U) = B (side R, B count×n), X over B.
    /// </summary>
    public static void SolveUpper(char side, char transpose, double* u, int n, int ldu, double* b, int count, int ldb)
    {
        byte s = (byte)side, upper = (byte)'U', t = (byte)transpose, nonUnit = (byte)'N';
        int rows = side == 'L' ? n : count, cols = side == 'L' ? count : n, ldU = ldu, ldB = ldb;
        double one = 1;
        Dtrsm(&s, &upper, &t, &nonUnit, &rows, &cols, &one, u, &ldU, b, &ldB, 1, 1, 1, 1);
    }
}
