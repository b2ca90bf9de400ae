using System.Numerics;
using System.Runtime.Intrinsics;
using Bilevel.Tensors.Internal.Kernels;

namespace Bilevel.Tensors.Tests;

public class GemmTests
{
    /// <summary>Every implementation a caller can reach: the dispatcher (native where installed) and each managed kernel.</summary>
    public enum Path
    {
        Dispatch,
        ManagedVector512,
        ManagedVector,
    }

    private static readonly int[] Sizes = [0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 64, 65, 100, 129, 256];

    /// <summary>Managed runs use two threads, so the fixed partition and the per-thread buffers are exercised.</summary>
    private const int ManagedThreads = 2;

    public static TheoryData<Path, bool, bool> Cases()
    {
        var data = new TheoryData<Path, bool, bool>();
        foreach (var path in Enum.GetValues<Path>())
        {
            if (path == Path.ManagedVector512 && !Vector512.IsHardwareAccelerated)
                continue;
            foreach (bool transposeA in new[] { false, true })
            {
                foreach (bool transposeB in new[] { false, true })
                    data.Add(path, transposeA, transposeB);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Float32_matches_reference(Path path, bool transposeA, bool transposeB) =>
        CheckShapes<float>(path, transposeA, transposeB);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Float64_matches_reference(Path path, bool transposeA, bool transposeB) =>
        CheckShapes<double>(path, transposeA, transposeB);

    [Fact]
    public void Managed_is_bit_identical_across_runs_and_thread_counts()
    {
        // Large enough to split across both threads and into several k blocks (KC is 384 floats).
        const int m = 301, n = 259, k = 900;
        var rng = new Random(7);
        var a = RandomArray<float>(rng, m * k);
        var b = RandomArray<float>(rng, k * n);
        var c0 = RandomArray<float>(rng, m * n);

        float[] Run(int threads)
        {
            var c = (float[])c0.Clone();
            ManagedGemm.Multiply(false, true, m, n, k, 0.5f, a, k, b, k, 1.25f, c, n, threads, ManagedGemm.DefaultKernel);
            return c;
        }

        var first = Run(2);
        Assert.Equal(first, Run(2));
        Assert.Equal(first, Run(1));
    }

    [Fact]
    public void Managed_single_thread_loop_does_not_allocate()
    {
        // Blocked (two k blocks), transposed-C (narrow n) and matrix-vector paths, after one warm-up pass.
        var a = new float[70 * 500];
        var b = new float[500 * 40];
        var c = new float[70 * 40];
        void Pass()
        {
            ManagedGemm.Multiply(false, false, 70, 40, 500, 1f, a, 500, b, 40, 0f, c, 40, 1, ManagedGemm.DefaultKernel);
            ManagedGemm.Multiply(false, true, 70, 5, 100, 1f, a, 100, b, 100, 1f, c, 5, 1, ManagedGemm.DefaultKernel);
            ManagedGemm.Multiply(true, false, 70, 1, 30, 1f, a, 70, b, 1, 0f, c, 1, 1, ManagedGemm.DefaultKernel);
        }

        for (int i = 0; i < 3; i++)
            Pass();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++)
            Pass();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Zero_k_scales_C_and_beta_zero_clears_NaN(bool managed)
    {
        // 2×3 with row stride 4: index 3 lies between the rows and must survive.
        float[] c = [1, 2, float.NaN, 99, 4, 5, 6];
        Multiply(managed, false, false, 2, 3, 0, 2f, [], 0, [], 3, 0.5f, c, 4);
        Assert.Equal(new[] { 0.5f, 1f, float.NaN, 99f, 2f, 2.5f, 3f }, c);

        Multiply(managed, false, false, 2, 3, 0, 2f, [], 0, [], 3, 0f, c, 4);
        Assert.Equal(new[] { 0f, 0f, 0f, 99f, 0f, 0f, 0f }, c);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Alpha_zero_does_not_evaluate_the_product(bool managed)
    {
        float[] a = [float.NaN, float.PositiveInfinity, 1, 2];
        float[] b = [float.NaN, 1, 2, 3];
        float[] c = [1, 2, 3, 4];
        Multiply(managed, false, false, 2, 2, 2, 0f, a, 2, b, 2, 2f, c, 2);
        Assert.Equal(new[] { 2f, 4f, 6f, 8f }, c);
    }

    [Fact]
    public void Empty_m_or_n_leaves_C_untouched()
    {
        float[] c = [float.NaN, 3];
        Gemm.Multiply(false, false, 0, 2, 5, 1f, [], 5, new float[10], 2, 0f, c, 2);
        Gemm.Multiply(false, false, 2, 0, 5, 1f, new float[10], 5, [], 0, 0f, c, 1);
        Assert.True(float.IsNaN(c[0]));
        Assert.Equal(3f, c[1]);
    }

    [Theory]
    [InlineData("a", false)]
    [InlineData("a", true)]
    [InlineData("b", false)]
    [InlineData("b", true)]
    [InlineData("c", false)]
    public void Short_operand_throws_naming_it(string operand, bool transposed)
    {
        // 4×5 · 5×6 with padded strides; the named operand loses its last element.
        const int m = 4, n = 6, k = 5;
        bool ta = operand == "a" && transposed, tb = operand == "b" && transposed;
        int lda = (ta ? m : k) + 1, ldb = (tb ? k : n) + 1, ldc = n + 1;
        int aLength = ((ta ? k : m) - 1) * lda + (ta ? m : k);
        int bLength = ((tb ? n : k) - 1) * ldb + (tb ? k : n);
        int cLength = (m - 1) * ldc + n;
        var a = new float[aLength - (operand == "a" ? 1 : 0)];
        var b = new float[bLength - (operand == "b" ? 1 : 0)];
        var c = new float[cLength - (operand == "c" ? 1 : 0)];

        var error = Assert.Throws<ArgumentException>(() => Gemm.Multiply(ta, tb, m, n, k, 1f, a, lda, b, ldb, 0f, c, ldc));
        Assert.Equal(operand, error.ParamName);
        Assert.Contains("gemm", error.Message, StringComparison.Ordinal);
        Assert.Contains($"operand {operand.ToUpperInvariant()}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Stride_shorter_than_a_row_throws()
    {
        var error = Assert.Throws<ArgumentException>(
            () => Gemm.Multiply(false, false, 2, 2, 3, 1f, new float[6], 2, new float[6], 2, 0f, new float[4], 2));
        Assert.Equal("a", error.ParamName);
        Assert.Contains("row stride must be at least 3", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unsupported_element_type_throws()
    {
        var x = new Half[4];
        Assert.Throws<NotSupportedException>(() => Gemm.Multiply(false, false, 2, 2, 2, Half.One, x, 2, x, 2, Half.Zero, x, 2));
    }

    private static void Multiply(
        bool managed, bool transposeA, bool transposeB, int m, int n, int k,
        float alpha, float[] a, int lda, float[] b, int ldb, float beta, float[] c, int ldc)
    {
        if (managed)
            ManagedGemm.Multiply(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ManagedThreads, ManagedGemm.DefaultKernel);
        else
            Gemm.Multiply(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    /// <summary>
    /// 48 shapes in which every size appears as m, as n and as k, plus a few with k above the float KC block and two
    /// large enough for the dispatcher to split over threads (by rows of C, then by columns, in uneven parts),
    /// cycling through strides and (alpha, beta) pairs.
    /// </summary>
    private static IEnumerable<(int M, int N, int K)> Shapes()
    {
        int count = Sizes.Length;
        for (int i = 0; i < count; i++)
        {
            yield return (Sizes[i], Sizes[(i + 3) % count], Sizes[(i + 7) % count]);
            yield return (Sizes[(i + 9) % count], Sizes[i], Sizes[(i + 1) % count]);
            yield return (Sizes[(i + 5) % count], Sizes[(i + 12) % count], Sizes[i]);
        }
        yield return (17, 40, 1000);
        yield return (70, 33, 777);
        yield return (130, 10, 450);
        yield return (197, 70, 300);
        yield return (70, 197, 300);
    }

    private static readonly (double Alpha, double Beta)[] Scalars = [(1, 0), (-0.5, 1), (1.5, -2), (0.75, 0)];

    private static void CheckShapes<T>(Path path, bool transposeA, bool transposeB)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random((int)path * 4 + (transposeA ? 2 : 0) + (transposeB ? 1 : 0) + (typeof(T) == typeof(float) ? 0 : 100));
        int index = 0;
        foreach (var (m, n, k) in Shapes())
        {
            bool strided = index % 2 == 1;
            var (alpha, beta) = Scalars[index % Scalars.Length];
            CheckOne<T>(rng, path, transposeA, transposeB, m, n, k, strided, alpha, beta);
            index++;
        }
    }

    private static void CheckOne<T>(
        Random rng, Path path, bool transposeA, bool transposeB, int m, int n, int k, bool strided, double alpha, double beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Stored shapes; strided operands are sub-matrices of wider buffers.
        int aRows = transposeA ? k : m, aCols = transposeA ? m : k;
        int bRows = transposeB ? n : k, bCols = transposeB ? k : n;
        int lda = aCols + (strided ? 3 : 0), ldb = bCols + (strided ? 5 : 0), ldc = n + (strided ? 2 : 0);
        var a = RandomArray<T>(rng, aRows * lda);
        var b = RandomArray<T>(rng, bRows * ldb);
        var c = RandomArray<T>(rng, m * ldc);
        if (beta == 0)
            Array.Fill(c, T.NaN);
        var c0 = (T[])c.Clone();

        T ta = T.CreateTruncating(alpha), tb = T.CreateTruncating(beta);
        switch (path)
        {
            case Path.Dispatch:
                Gemm.Multiply(transposeA, transposeB, m, n, k, ta, a, lda, b, ldb, tb, c, ldc);
                break;
            case Path.ManagedVector512:
                ManagedGemm.Multiply(transposeA, transposeB, m, n, k, ta, a, lda, b, ldb, tb, c, ldc, ManagedThreads, ManagedGemmKernel.Vector512);
                break;
            default:
                ManagedGemm.Multiply(transposeA, transposeB, m, n, k, ta, a, lda, b, ldb, tb, c, ldc, ManagedThreads, ManagedGemmKernel.Vector);
                break;
        }

        // Error bound of a k-term dot product plus the alpha/beta update: (k + 2)·u·Σ|terms|, doubled to cover a
        // float64 reference that carries its own rounding.
        double unit = typeof(T) == typeof(float) ? Math.Pow(2, -24) : Math.Pow(2, -53);
        double tolerance = 2 * (k + 2) * unit;
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < ldc; j++)
            {
                double actual = double.CreateTruncating(c[i * ldc + j]);
                if (j >= n)
                {
                    Assert.True(
                        actual.Equals(double.CreateTruncating(c0[i * ldc + j])),
                        $"{Describe<T>(path, transposeA, transposeB, m, n, k, strided)}: C[{i}, {j}] lies outside the product but was overwritten.");
                    continue;
                }

                double sum = 0, magnitude = 0;
                for (int q = 0; q < k; q++)
                {
                    double x = double.CreateTruncating(transposeA ? a[q * lda + i] : a[i * lda + q]);
                    double y = double.CreateTruncating(transposeB ? b[j * ldb + q] : b[q * ldb + j]);
                    sum += x * y;
                    magnitude += Math.Abs(x * y);
                }
                double expected = alpha * sum, scale = Math.Abs(alpha) * magnitude;
                if (beta != 0)
                {
                    double old = double.CreateTruncating(c0[i * ldc + j]);
                    expected += beta * old;
                    scale += Math.Abs(beta * old);
                }

                Assert.True(
                    Math.Abs(actual - expected) <= tolerance * scale + double.Epsilon,
                    $"{Describe<T>(path, transposeA, transposeB, m, n, k, strided)} alpha={alpha} beta={beta}: C[{i}, {j}] = {actual}, expected {expected} ± {tolerance * scale}.");
            }
        }
    }

    private static string Describe<T>(Path path, bool transposeA, bool transposeB, int m, int n, int k, bool strided) =>
        $"{path} {(transposeA ? "T" : "N")}{(transposeB ? "T" : "N")} {typeof(T).Name} m={m} n={n} k={k}{(strided ? " strided" : "")}";

    private static T[] RandomArray<T>(Random rng, int length)
        where T : IFloatingPointIeee754<T>
    {
        var array = new T[length];
        for (int i = 0; i < length; i++)
            array[i] = T.CreateTruncating(rng.NextDouble() * 2 - 1);
        return array;
    }
}
