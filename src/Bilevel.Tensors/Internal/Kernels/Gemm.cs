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
    /// <summary>True when large products go to OpenBLAS.</summary>
    public static bool UsesNativeBlas => OpenBlas.IsAvailable;

    /// <summary>
    /// C[m×n] = alpha·op(A)·op(B) + beta·C, all row-major; op(X) = Xᵀ when the flag is set. lda/ldb/ldc are row
    /// strides (elements). beta == 0 overwrites C without reading it (BLAS semantics); k == 0 or alpha == 0 gives
    /// C = beta·C. T is float or double. <paramref name="primal"/>: A and B are primal values (an op's operands, a
    /// weight's gradient), not tangents, so that where the caller is one of several threads evaluating the same
    /// function side by side (<see cref="PrimalSharing"/>) a large product is computed once between them, each thread
    /// a share of C's rows.
    /// </summary>
    public static void Multiply<T>(
        bool transposeA, bool transposeB, int m, int n, int k,
        T alpha, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc, bool primal = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        GemmArguments.EnsureSupported<T>();
        GemmArguments.Validate(transposeA, transposeB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (primal && PrimalSharing.Current is { } member && (long)m * n * k >= SharedWork && m >= 2 * MinPart)
        {
            MultiplyShared(member, transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            return;
        }

        // Empty products and alpha == 0 stay managed, where their BLAS semantics are spelled out; so do matrix-vector ones.
        if (UsesNativeBlas && m > 1 && n > 1 && k > 0 && alpha != T.Zero)
            MultiplyNative(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        else
            ManagedGemm.Multiply(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    /// <summary>
    /// The parts of C this thread claims, the rest copied from what the other members published
    /// (<see cref="PrimalSharing"/>). C is cut along its longer side, as <see cref="MultiplyNative"/> splits it over threads.
    /// </summary>
    private static void MultiplyShared<T>(
        PrimalSharing.Member member, bool transposeA, bool transposeB, int m, int n, int k,
        T alpha, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var shape = new SharedProduct(m, n, k, transposeA, transposeB, lda, ldb, ldc, double.CreateTruncating(alpha), beta != T.Zero, sizeof(T));
        bool splitRows = m >= n;
        var layout = new SharedLayout(m, n * sizeof(T), (long)ldc * sizeof(T), sizeof(T), !splitRows, SharedParts(m, n, k));
        fixed (T* pa = a)
        fixed (T* pb = b)
        fixed (T* pc = c)
        {
            T* ap = pa, bp = pb, cp = pc;
            int aLength = a.Length, bLength = b.Length, cLength = c.Length;
            member.Share(shape, (byte*)pc, layout, (start, end) =>
            {
                if (end == start) return;
                var (aOffset, bOffset, cOffset) = PartOffsets(splitRows, start, transposeA, lda, transposeB, ldb, ldc);
                var aPart = new ReadOnlySpan<T>(ap + aOffset, (int)(aLength - aOffset));
                var bPart = new ReadOnlySpan<T>(bp + bOffset, (int)(bLength - bOffset));
                var cPart = new Span<T>(cp + cOffset, (int)(cLength - cOffset));
                Multiply(transposeA, transposeB, splitRows ? end - start : m, splitRows ? n : end - start, k, alpha, aPart, lda, bPart, ldb, beta, cPart, ldc);
            });
        }
    }

    /// <summary>
    /// How many parts a shared m×n×k product is cut into: as many as <see cref="PrimalSharing.MaxParts"/>, so that a
    /// thread that arrives first has parts to compute until the others join, but each of at least
    /// <see cref="SharedPartWork"/> multiply-adds and <see cref="MinPart"/> rows or columns.
    /// </summary>
    private static int SharedParts(int m, int n, int k)
    {
        long byWork = (long)m * n * k / SharedPartWork, byExtent = Math.Max(m, n) / MinPart;
        return (int)Math.Clamp(Math.Min(byWork, byExtent), 2, PrimalSharing.MaxParts);
    }

    /// <summary>
    /// The least work of one part of a shared product, 2²¹ multiply-adds: each part packs the whole of the operand it
    /// does not cut (hypercleaning's 100×784 inputs for a 100×32×784 part), a few per cent of a part this size.
    /// </summary>
    private const long SharedPartWork = 1L << 21;

    /// <summary>
    /// Below this many multiply-adds a product runs on one thread: OpenBLAS 0.3.21's own threshold (64³), under which
    /// handing half of it to a second thread costs more than it saves.
    /// </summary>
    private const long ParallelWork = 64L * 64 * 64;

    /// <summary>
    /// Below this many multiply-adds (about 40 µs on one core) a primal product is not shared: the threads meet at
    /// every shared product, and the meeting costs the drift between them since the last one, more than half of a
    /// small product saves. Hypercleaning's first-layer products (2·10⁷) are shared; a ConvNet's last linear layer's
    /// (100×10×288) were, and condensation's two threads then waited at every inner step for nothing.
    /// </summary>
    private const long SharedWork = 1L << 22;

    /// <summary>A part of a split product has at least this many rows or columns: a multiple of the sgemm/dgemm micro-kernels' tiles.</summary>
    private const int MinPart = 32;

    /// <summary>Whether an m×n×k product runs on more than one thread (a caller with many small ones can spread them instead).</summary>
    public static bool SplitsOverThreads(int m, int n, int k) =>
        TensorEngine.ThreadCount > 1 && (long)m * n * k >= ParallelWork && Math.Max(m, n) >= 2 * MinPart;

    /// <summary>
    /// Runs <paramref name="count"/> independent products, product(i) for each i, whose outputs do not overlap (one
    /// per stacked tangent, one per batch index). When the engine's threads can share them out evenly (as many per
    /// thread, or at least four each), the products go side by side (<see cref="TensorEngine.RunSideBySide"/>), each
    /// on one thread: one fork-join for all of them, and no operand packed twice, where splitting each product would
    /// pay both once per product and leave small ones (a 256×100×10 tangent of an MLP's last layer) on one thread.
    /// Otherwise they run in turn, each split as usual. Either way a product's bits depend only on the thread setting.
    /// </summary>
    public static void MultiplyEach(int count, Action<int> product)
    {
        int threads = TensorEngine.ThreadCount;
        bool evenly = count % threads == 0 || count >= 4 * threads;
        TensorEngine.RunSideBySide(count, evenly ? threads : 1, product);
    }

    /// <summary>
    /// A large product is split into blocks of rows or columns of C over <see cref="Parallelism"/>, each block one
    /// single-threaded OpenBLAS call (why OpenBLAS runs no threads of its own: <see cref="OpenBlas"/>).
    /// </summary>
    private static void MultiplyNative<T>(
        bool transposeA, bool transposeB, int m, int n, int k,
        T alpha, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool splitRows = m >= n;
        int extent = splitRows ? m : n;
        bool oneThread = !SplitsOverThreads(m, n, k);
        fixed (T* pa = a)
        fixed (T* pb = b)
        fixed (T* pc = c)
        {
            if (oneThread)
            {
                NativeProduct(transposeA, transposeB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
                return;
            }
            T* ap = pa, bp = pb, cp = pc;
            Parallelism.For(extent, MinPart, (start, end) =>
            {
                var (aOffset, bOffset, cOffset) = PartOffsets(splitRows, start, transposeA, lda, transposeB, ldb, ldc);
                NativeProduct(transposeA, transposeB, splitRows ? end - start : m, splitRows ? n : end - start, k,
                    alpha, ap + aOffset, lda, bp + bOffset, ldb, beta, cp + cOffset, ldc);
            });
        }
    }

    /// <summary>
    /// Where a part of C that starts at row (or column) <paramref name="start"/> reads A and B and writes C, as
    /// element offsets: rows of C are rows of op(A); columns of C are columns of op(B), which start where rows of
    /// op(Bᵀ) do.
    /// </summary>
    private static (long A, long B, long C) PartOffsets(bool splitRows, int start, bool transposeA, int lda, bool transposeB, int ldb, int ldc) =>
        splitRows ? (RowOffset(transposeA, start, lda), 0, (long)start * ldc) : (0, RowOffset(!transposeB, start, ldb), start);

    /// <summary>
    /// Where row <paramref name="row"/> of op(X) starts in row-major X of row stride <paramref name="ld"/>: at row·ld,
    /// or at row when op(X) = Xᵀ (a row of Xᵀ is a column of X).
    /// </summary>
    private static long RowOffset(bool transposed, int row, int ld) => transposed ? row : (long)row * ld;

    private static void NativeProduct<T>(
        bool transposeA, bool transposeB, int m, int n, int k,
        T alpha, T* a, int lda, T* b, int ldb, T beta, T* c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int ta = transposeA ? OpenBlas.Trans : OpenBlas.NoTrans, tb = transposeB ? OpenBlas.Trans : OpenBlas.NoTrans;
        if (typeof(T) == typeof(float))
        {
            OpenBlas.Sgemm(OpenBlas.RowMajor, ta, tb, m, n, k,
                float.CreateTruncating(alpha), (float*)a, lda, (float*)b, ldb, float.CreateTruncating(beta), (float*)c, ldc);
        }
        else
        {
            OpenBlas.Dgemm(OpenBlas.RowMajor, ta, tb, m, n, k,
                double.CreateTruncating(alpha), (double*)a, lda, (double*)b, ldb, double.CreateTruncating(beta), (double*)c, ldc);
        }
    }

    /// <summary>What two threads' shared products must agree on (<see cref="PrimalSharing"/>).</summary>
    private readonly record struct SharedProduct(int M, int N, int K, bool TransposeA, bool TransposeB, int Lda, int Ldb, int Ldc, double Alpha, bool Accumulates, int ElementSize);
}
