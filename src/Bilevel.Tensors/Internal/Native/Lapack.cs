using System.Runtime.InteropServices;

namespace Bilevel.Tensors.Internal.Native;

/// <summary>
/// The Fortran-ABI routines of the loaded OpenBLAS that the Cholesky API needs: LAPACK's <c>dpotrf_</c> and BLAS's
/// <c>dtrsm_</c> (OpenBLAS exports both; it has no CBLAS-style LAPACK). Every argument goes by pointer and matrices are
/// column-major, so a row-major buffer is seen transposed. The trailing lengths are the hidden string-length
/// arguments gfortran adds for each character argument; OpenBLAS's own C implementations ignore them, a
/// reference-LAPACK build reads them.
/// </summary>
internal static unsafe partial class Lapack
{
    // The logical name OpenBlas's resolver maps to the library it loaded.
    private const string Library = "bilevel-openblas";

    /// <summary>True when OpenBLAS is in use and exports both routines.</summary>
    public static bool IsAvailable { get; } = OpenBlas.IsAvailable && OpenBlas.Exports("dpotrf_") && OpenBlas.Exports("dtrsm_");

    [LibraryImport(Library, EntryPoint = "dpotrf_")]
    public static partial void Dpotrf(byte* uplo, int* n, double* a, int* lda, int* info, nint uploLength);

    [LibraryImport(Library, EntryPoint = "dtrsm_")]
    public static partial void Dtrsm(
        byte* side, byte* uplo, byte* transA, byte* diag, int* m, int* n, double* alpha, double* a, int* lda, double* b, int* ldb,
        nint sideLength, nint uploLength, nint transALength, nint diagLength);
}
