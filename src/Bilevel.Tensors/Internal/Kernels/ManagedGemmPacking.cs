using System.Numerics;

namespace Bilevel.Tensors.Internal.Kernels;

/// <summary>
/// Copies blocks of A and B into the order the microkernel reads them, so its inner loop walks memory contiguously
/// whatever the operands' strides and transposition. Partial panels are zero-padded: the microkernel then always
/// computes a full tile, and the padding contributes exact zeros to lanes that are never stored.
/// </summary>
internal static unsafe class ManagedGemmPacking
{
    /// <summary>
    /// Packs rows [row, row + rows) × k range [p, p + kc) of op(A) as dst[q·mr + i] = op(A)[row + i, p + q],
    /// rows &lt;= mr, padding rows up to mr with zeros.
    /// </summary>
    public static void PackA<T>(T* a, nint lda, bool transposed, int row, int rows, int p, int kc, int mr, T* dst)
        where T : unmanaged, INumberBase<T>
    {
        if (transposed)
        {
            // op(A)[i, q] = A[q, i]: each k step is a contiguous run of rows.
            T* src = a + p * lda + row;
            for (int q = 0; q < kc; q++, src += lda, dst += mr)
            {
                for (int i = 0; i < rows; i++)
                    dst[i] = src[i];
                for (int i = rows; i < mr; i++)
                    dst[i] = T.Zero;
            }
            return;
        }

        // op(A)[i, q] = A[i, q]: gather one column of the rows per step so the writes are contiguous; the reads
        // are `rows` sequential streams, which the hardware prefetchers follow.
        T* column = a + row * lda + p;
        for (int q = 0; q < kc; q++, column++, dst += mr)
        {
            T* src = column;
            for (int i = 0; i < rows; i++, src += lda)
                dst[i] = *src;
            for (int i = rows; i < mr; i++)
                dst[i] = T.Zero;
        }
    }

    /// <summary>
    /// Packs k range [p, p + kc) × columns [col, col + cols) of op(B) into ⌈cols/nr⌉ panels of kc×nr:
    /// dst[panel·kc·nr + q·nr + j] = op(B)[p + q, col + panel·nr + j], padding the last panel with zero columns.
    /// </summary>
    public static void PackB<T>(T* b, nint ldb, bool transposed, int p, int kc, int col, int cols, int nr, T* dst)
        where T : unmanaged, INumberBase<T>
    {
        for (int j0 = 0; j0 < cols; j0 += nr, dst += kc * nr)
        {
            int width = Math.Min(nr, cols - j0);
            if (transposed)
            {
                // op(B)[q, j] = B[j, q]: a blocked transpose, one cache line of each stored row at a time. Reading
                // all nr rows per step instead (as for A) thrashes L1 when ldb is a power of two.
                int line = 64 / sizeof(T);
                for (int q0 = 0; q0 < kc; q0 += line)
                {
                    int steps = Math.Min(line, kc - q0);
                    T* src = b + (col + j0) * ldb + p + q0;
                    T* panel = dst + q0 * nr;
                    for (int j = 0; j < width; j++, src += ldb)
                    {
                        for (int q = 0; q < steps; q++)
                            panel[q * nr + j] = src[q];
                    }
                    for (int j = width; j < nr; j++)
                    {
                        for (int q = 0; q < steps; q++)
                            panel[q * nr + j] = T.Zero;
                    }
                }
            }
            else
            {
                T* src = b + p * ldb + col + j0;
                for (int q = 0; q < kc; q++, src += ldb)
                {
                    new ReadOnlySpan<T>(src, width).CopyTo(new Span<T>(dst + q * nr, width));
                    new Span<T>(dst + q * nr + width, nr - width).Clear();
                }
            }
        }
    }
}
