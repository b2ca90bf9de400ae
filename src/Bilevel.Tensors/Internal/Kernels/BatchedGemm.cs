using System.Numerics;

namespace Bilevel.Tensors.Internal.Kernels;

/// <summary>
/// Runs one GEMM per broadcast batch index, or a single GEMM when the batch folds into the rows of A; that one as a
/// shared product of primal values (see <see cref="Gemm.Multiply{T}"/>) when <c>primal</c>.
/// </summary>
internal static class BatchedGemm
{
    public static void Run<T>(Tensor<T> a, Tensor<T> b, Tensor<T> y, bool transposeA, bool transposeB, int m, int n, int k, Shape batchA, Shape batchB, Shape batch,
        bool primal)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int lda = transposeA ? m : k;
        int ldb = transposeB ? k : n;
        if (batchB.Length == 1 && !transposeA && batchA == batch)
        {
            // [..., m, k]·[k, n]: the batch is just more rows of A.
            Gemm.Multiply(false, transposeB, batch.Length * m, n, k, T.One, a.Span, k, b.Span, ldb, T.Zero, y.Span, n, primal);
            return;
        }
        int count = batch.Length;
        var indexA = BroadcastIndex(batchA, batch);
        var indexB = BroadcastIndex(batchB, batch);
        Gemm.MultiplyEach(count, i =>
            Gemm.Multiply(transposeA, transposeB, m, n, k, T.One,
                a.Span.Slice(indexA[i] * m * k, m * k), lda, b.Span.Slice(indexB[i] * k * n, k * n), ldb,
                T.Zero, y.Span.Slice(i * m * n, m * n), n));
    }

    /// <summary>For each batch index of the broadcast batch shape, the matching index into an operand's batch.</summary>
    private static int[] BroadcastIndex(Shape operand, Shape batch)
    {
        var map = new int[batch.Length];
        var padded = operand.PadTo(batch.Rank);
        var strides = padded.Strides();
        for (int i = 0; i < batch.Length; i++)
        {
            int rem = i, offset = 0;
            for (int a = batch.Rank - 1; a >= 0; a--)
            {
                int idx = rem % batch[a];
                rem /= batch[a];
                if (padded[a] != 1) offset += idx * strides[a];
            }
            map[i] = offset;
        }
        return map;
    }
}
