using System.Runtime.InteropServices;

namespace Bilevel.Tensors.Internal.Native;

/// <summary>
/// The Fortran-ABI routines of the loaded OpenBLAS that the Cholesky API needs: LAPACK's <c>dpotrf_</c>, and BLAS's
/// <c>dtrsm_</c>, <c>dsyrk_</c> and <c>dgemm_</c> for the solves and the blocked factorisation over threads
/// (<see cref="Kernels.BlockedCholesky"/>); OpenBLAS exports all four, and has no CBLAS-style LAPACK. Every argument goes by pointer and matrices are
/// column-major, so a row-major buffer is seen transposed. The trailing lengths are the hidden string-length
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
}
