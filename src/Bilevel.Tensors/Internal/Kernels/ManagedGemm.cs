using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace Bilevel.Tensors.Internal.Kernels;

/// <summary>
/// GEMM in managed code, structured like GotoBLAS/BLIS: for each block of columns (NC) and of k (KC), B is packed
/// into panels of NR columns; for each MR rows, A is packed into a panel that stays in L1 while a register-blocked
/// microkernel sweeps the B panels, streaming them in order. Threads own fixed rectangles of C (<see cref="ManagedGemmPartition"/>)
/// and every element is summed in the same k order, so results are bit-identical run to run — and, since neither
/// the k blocking nor the tile arithmetic depends on the partition, across thread counts too.
/// </summary>
internal static unsafe class ManagedGemm
{
    /// <summary>KC·sizeof(T): 384 float or 192 double k-steps, so a 12-row A panel (18 KiB) stays in a 32 KiB L1.</summary>
    private const int KcBytes = 1536;

    /// <summary>
    /// Columns of packed B per block. KC×NC floats (1.5 MiB) overflows Zen 4's 1 MiB L2, but the microkernel reads
    /// the panels sequentially, so the prefetchers keep up, and A is packed only once per 1024 columns; 256–2048 all
    /// measured within noise of each other on 1024³ and 2048³.
    /// </summary>
    private const int Nc = 1024;

    /// <summary>The microkernel this machine runs best.</summary>
    public static ManagedGemmKernel DefaultKernel =>
        Vector512.IsHardwareAccelerated ? ManagedGemmKernel.Vector512 : ManagedGemmKernel.Vector;

    /// <inheritdoc cref="Gemm.Multiply"/>
    public static void Multiply<T>(
        bool transposeA, bool transposeB, int m, int n, int k,
        T alpha, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        Multiply(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, TensorEngine.ThreadCount, DefaultKernel);

    /// <summary>As <see cref="Gemm.Multiply"/>, with an explicit thread budget and microkernel (for tests and benchmarks).</summary>
    public static void Multiply<T>(
        bool transposeA, bool transposeB, int m, int n, int k,
        T alpha, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc,
        int threads, ManagedGemmKernel kernel)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        GemmArguments.EnsureSupported<T>();
        GemmArguments.Validate(transposeA, transposeB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        if (kernel == ManagedGemmKernel.Vector512 && !Vector512.IsHardwareAccelerated)
            throw new NotSupportedException("gemm: the Vector512 microkernel needs hardware-accelerated 512-bit vectors.");

        if (m == 0 || n == 0)
            return;
        if (k == 0 || alpha == T.Zero)
        {
            // BLAS quick return: A·B is not evaluated, so NaNs in A or B do not reach C.
            Scale(m, n, beta, c, ldc);
            return;
        }

        fixed (T* pa = a)
        fixed (T* pb = b)
        fixed (T* pc = c)
        {
            if (m == 1 || n == 1)
            {
                // A tile of 12×32 would be at least 92% padding; a matrix-vector product wastes nothing.
                ManagedGemmMatrixVector.Multiply(transposeA, transposeB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc, threads);
                return;
            }

            var job = new Job<T>(transposeA, transposeB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc, transposedC: false);
            if (kernel == ManagedGemmKernel.Vector512)
                Run<T, ManagedGemmKernel512<T>>(job, threads);
            else
                Run<T, ManagedGemmKernelVector<T>>(job, threads);
        }
    }

    /// <summary>One element's store, shared by every path: C = alpha·value + scale·C, overwriting when scale == 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Merge<T>(T alpha, T value, T scale, T c)
        where T : IFloatingPointIeee754<T> =>
        scale == T.Zero ? alpha * value : T.FusedMultiplyAdd(alpha, value, c * scale);

    /// <summary>C = beta·C over an m×n strided block; beta == 0 overwrites, so NaNs already in C do not survive.</summary>
    public static void Scale<T>(int m, int n, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (beta == T.One)
            return;
        for (int i = 0; i < m; i++)
        {
            var row = c.Slice(i * ldc, n);
            if (beta == T.Zero)
                row.Clear();
            else
                TensorPrimitives.Multiply(row, beta, row);
        }
    }

    private static void Run<T, TKernel>(Job<T> job, int threads)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TKernel : struct, IManagedGemmKernel<T>
    {
        // A narrow C (say n = 10 logits) pads most of each tile's columns; Cᵀ = op(B)ᵀ·op(A)ᵀ turns the narrow side
        // into rows, where tiles are only 12 (or 6) tall. The products and their k order are the same, so is the result.
        if (PaddedArea(job.N, job.M, TKernel.Rows, TKernel.Columns) < PaddedArea(job.M, job.N, TKernel.Rows, TKernel.Columns))
            job = job.Transposed();

        var partition = ManagedGemmPartition.Choose(job.M, job.N, job.K, threads, TKernel.Rows, TKernel.Columns, Nc);
        if (partition.Count == 1)
            ComputeBlock<T, TKernel>(job, 0, job.M, 0, job.N);
        else
            RunParallel<T, TKernel>(job, partition);
    }

    /// <summary>Kept out of Run so that a single-threaded call does not allocate the lambda's closure.</summary>
    private static void RunParallel<T, TKernel>(Job<T> job, ManagedGemmPartition partition)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TKernel : struct, IManagedGemmKernel<T>
    {
        KernelThreads.Run(partition.Count, index =>
        {
            var (row0, row1, col0, col1) = partition.Block(index, job.M, job.N);
            if (row0 < row1 && col0 < col1)
                ComputeBlock<T, TKernel>(job, row0, row1, col0, col1);
        });
    }

    private static long PaddedArea(int m, int n, int mr, int nr) =>
        (long)ManagedGemmPartition.RoundUp(m, mr) * ManagedGemmPartition.RoundUp(n, nr);

    /// <summary>C[row0..row1, col0..col1] on the calling thread, with its own pack buffers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ComputeBlock<T, TKernel>(Job<T> job, int row0, int row1, int col0, int col1)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TKernel : struct, IManagedGemmKernel<T>
    {
        int mr = TKernel.Rows, nr = TKernel.Columns;

        // Equal-sized k and column blocks: a remainder block of a few steps would pay C's load/store for little work.
        // The k blocking depends on k alone, which keeps each element's summation order fixed.
        int kc = ManagedGemmPartition.CeilDiv(job.K, ManagedGemmPartition.CeilDiv(job.K, KcBytes / sizeof(T)));
        int cols = col1 - col0;
        int nc = ManagedGemmPartition.RoundUp(ManagedGemmPartition.CeilDiv(cols, ManagedGemmPartition.CeilDiv(cols, Nc)), nr);

        int line = 64 / sizeof(T);
        int packedBLength = ManagedGemmPartition.RoundUp(kc * nc, line);
        int packedALength = ManagedGemmPartition.RoundUp(kc * mr, line);
        T* packedB = ManagedGemmBuffers<T>.Get(packedBLength + packedALength + mr * nr);
        T* packedA = packedB + packedBLength;
        T* tile = packedA + packedALength;

        for (int jc = col0; jc < col1; jc += nc)
        {
            int width = Math.Min(nc, col1 - jc);
            for (int pc = 0; pc < job.K; pc += kc)
            {
                int depth = Math.Min(kc, job.K - pc);
                T scale = pc == 0 ? job.Beta : T.One;
                ManagedGemmPacking.PackB(job.B, job.Ldb, job.TransposeB, pc, depth, jc, width, nr, packedB);

                for (int ir = row0; ir < row1; ir += mr)
                {
                    int rows = Math.Min(mr, row1 - ir);
                    ManagedGemmPacking.PackA(job.A, job.Lda, job.TransposeA, ir, rows, pc, depth, mr, packedA);

                    for (int jr = 0; jr < width; jr += nr)
                    {
                        int tileWidth = Math.Min(nr, width - jr);
                        T* panelB = packedB + jr * depth;
                        T* cTile = job.C + ir * job.RowStride + (jc + jr) * job.ColumnStride;
                        if (rows == mr && tileWidth == nr && !job.TransposedC)
                        {
                            TKernel.Run(depth, packedA, panelB, cTile, job.RowStride, job.Alpha, scale);
                        }
                        else
                        {
                            TKernel.Run(depth, packedA, panelB, tile, nr, T.One, T.Zero);
                            MergeTile(tile, nr, rows, tileWidth, cTile, job.RowStride, job.ColumnStride, job.Alpha, scale);
                        }
                    }
                }
            }
        }
    }

    /// <summary>The microkernel's store for a partial or transposed tile, with the same rounding.</summary>
    private static void MergeTile<T>(T* tile, int nr, int rows, int cols, T* c, nint rowStride, nint columnStride, T alpha, T scale)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < rows; i++, tile += nr, c += rowStride)
        {
            T* element = c;
            for (int j = 0; j < cols; j++, element += columnStride)
                *element = Merge(alpha, tile[j], scale, *element);
        }
    }

    /// <summary>
    /// The operands of one call, pinned for its duration. C is addressed through two strides so the transposed
    /// problem can write Cᵀ in place.
    /// </summary>
    private readonly struct Job<T>(
        bool transposeA, bool transposeB, int m, int n, int k,
        T alpha, T* a, nint lda, T* b, nint ldb, T beta, T* c, nint ldc, bool transposedC)
        where T : unmanaged
    {
        public readonly bool TransposeA = transposeA, TransposeB = transposeB, TransposedC = transposedC;
        public readonly int M = m, N = n, K = k;
        public readonly T Alpha = alpha, Beta = beta;
        public readonly T* A = a, B = b, C = c;
        public readonly nint Lda = lda, Ldb = ldb, Ldc = ldc;

        public nint RowStride => TransposedC ? 1 : Ldc;

        public nint ColumnStride => TransposedC ? Ldc : 1;

        /// <summary>The same product as Cᵀ = op(B)ᵀ·op(A)ᵀ: op(B)ᵀ is B read with the opposite transposition.</summary>
        public Job<T> Transposed() =>
            new(!TransposeB, !TransposeA, N, M, K, Alpha, B, Ldb, A, Lda, Beta, C, Ldc, !TransposedC);
    }
}
