using Bilevel.Tensors.Internal.Native;

namespace Bilevel.Tensors.Internal.Kernels;

/// <summary>
/// The Cholesky factorisation A = UᵀU of a column-major upper triangle (a row-major lower one seen transposed) by
/// blocks of <see cref="Block"/> columns over the engine's threads: right-looking, each step factors its diagonal
/// block with <c>dpotrf</c> on one thread, then solves the block row to its right and updates the trailing matrix
/// with those columns split between the threads. OpenBLAS runs single-threaded here (see <see cref="OpenBlas"/>),
/// so its own <c>dpotrf</c> would leave the other cores idle. KFAC's first hypercleaning factor (785×785, each outer
/// step, in a 50 ms call): 3.6 ms by one <c>dpotrf</c>, 2.0 ms by blocks of 64 on two threads (2.1 with 128 or 192).
/// </summary>
/// <remarks>
/// The split depends only on n and the thread setting, so a factor's bits do too; they differ from a whole
/// <c>dpotrf</c>'s in the last places (another order of the same sums).
/// </remarks>
internal static unsafe class BlockedCholesky
{
    /// <summary>Columns per step: the update (Block·r² flops for r trailing columns) dominates the serial block factor (Block³/3).</summary>
    private const int Block = 64;

    /// <summary>
    /// The least order worth splitting: 257 took 0.11 ms against dpotrf's 0.17, while 128 took 0.033 against 0.029.
    /// </summary>
    private const int MinOrder = 256;

    /// <summary>
    /// Factors the n×n column-major upper triangle at <paramref name="a"/> (leading dimension n) in place, by blocks
    /// from order <see cref="MinOrder"/> on two or more threads, otherwise by one <c>dpotrf</c>; false when a pivot is
    /// not positive (the caller checks the diagonal for NaN), as <c>dpotrf</c>'s info &gt; 0.
    /// </summary>
    public static bool Factor(double* a, int n)
    {
        int threads = TensorEngine.ThreadCount;
        if (threads == 1 || n < MinOrder) return Lapack.FactorUpper(a, n, n);
        for (int k = 0; k < n; k += Block)
        {
            int kb = Math.Min(Block, n - k), rest = n - k - kb;
            double* diagonal = a + k + (long)k * n;
            if (!Lapack.FactorUpper(diagonal, kb, n)) return false;
            if (rest == 0) break;
            // U₁₂ = U₁₁⁻ᵀ A₁₂, column by column: independent, split evenly.
            double* row = diagonal + (long)kb * n, trailing = row + kb;
            Parallelism.For(rest, Block / 4, (start, end) => Lapack.SolveUpper('L', 'T', diagonal, kb, n, row + (long)start * n, end - start, n));
            // A₂₂ −= U₁₂ᵀ U₁₂ on the upper triangle: column j of it has j + 1 entries, so the split is by area.
            KernelThreads.Run(threads, t =>
            {
                int start = TriangleBoundary(rest, t, threads), end = TriangleBoundary(rest, t + 1, threads);
                if (end > start) UpdateColumns(row, trailing, kb, start, end, n);
            });
        }
        return true;
    }

    /// <summary>
    /// Where part <paramref name="part"/> of <paramref name="parts"/> starts among the columns of an r×r upper
    /// triangle cut into parts of equal area: at r·√(part / parts).
    /// </summary>
    private static int TriangleBoundary(int r, int part, int parts) => part >= parts ? r : (int)Math.Round(r * Math.Sqrt((double)part / parts));

    /// <summary>
    /// Columns [start, end) of the trailing matrix: the rectangle above their diagonal block by dgemm, the block
    /// itself by dsyrk (which writes only its upper triangle, so the strict lower one stays as the caller left it).
    /// </summary>
    private static void UpdateColumns(double* row, double* trailing, int kb, int start, int end, int lda)
    {
        byte transpose = (byte)'T', plain = (byte)'N', upper = (byte)'U';
        int width = end - start, depth = kb, ld = lda;
        double minusOne = -1, one = 1;
        double* columns = row + (long)start * lda;
        if (start > 0)
        {
            int above = start;
            Lapack.Dgemm(&transpose, &plain, &above, &width, &depth, &minusOne, row, &ld, columns, &ld, &one, trailing + (long)start * lda, &ld, 1, 1);
        }
        Lapack.Dsyrk(&upper, &transpose, &width, &depth, &minusOne, columns, &ld, &one, trailing + start + (long)start * lda, &ld, 1, 1);
    }
}
