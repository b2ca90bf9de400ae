using Bilevel.Tensors.Internal.Kernels;
using Xunit;

namespace Bilevel.Tensors.Tests;

/// <summary>
/// TensorEngine.RunSharingPrimal: items that evaluate one function with different tangents compute each large primal
/// product once between them, each the parts it claims, and give what they give alone.
/// </summary>
public class SharedPrimalTests
{
    // Large enough to be shared: at least 2²² multiply-adds.
    private const int M = 256, N = 160, K = 128;

    [Theory]
    [InlineData(false, 0.0)]
    [InlineData(true, 0.0)]
    [InlineData(false, 1.0)]
    public void EachPartOfAPrimalProductIsComputedByOneItemAndCopiedByTheOther(bool transposeA, double beta)
    {
        // The items break the contract on purpose (same shapes, different A), which shows who computed which part:
        // 5.2·10⁶ multiply-adds make two parts of 128 rows, each of which both items get from the same item.
        using var limit = TensorEngine.LimitThreads(2);
        var a = new[] { Values(M * K, 1), Values(M * K, 2) };
        var b = Values(K * N, 3);
        var start = Values(M * N, 4);
        var results = new double[2][];
        // Both items start before the first product, however late the second thread wakes (sharing waits only 2 ms).
        using var bothStarted = new Barrier(2);
        TensorEngine.RunSharingPrimal(2, 2, i =>
        {
            Assert.True(bothStarted.SignalAndWait(TimeSpan.FromSeconds(10)));
            var c = (double[])start.Clone();
            Gemm.Multiply(transposeA, false, M, N, K, 1.0, a[i], transposeA ? M : K, b, N, beta, c, N, primal: true);
            results[i] = c;
        });
        var alone = a.Select(ai =>
        {
            var c = (double[])start.Clone();
            Gemm.Multiply(transposeA, false, M, N, K, 1.0, ai, transposeA ? M : K, b, N, beta, c, N);
            return c;
        }).ToArray();
        Assert.Equal(results[0], results[1]);
        foreach (var part in new[] { 0..(M / 2 * N), (M / 2 * N)..(M * N) })
            Assert.Contains(alone, whole => whole[part].SequenceEqual(results[0][part]));
    }

    [Theory]
    [InlineData(M, N)]
    [InlineData(64, 512)]
    public void AnItemThatArrivesLateCopiesEveryPartFromTheOneAhead(int m, int n)
    {
        // Item 0 waits neither for item 1 to arrive nor to copy: it computes every part (of rows, or of columns for
        // the wide product) and finishes its product before item 1 starts its own, which copies them all, so both
        // get item 0's product, to the bit.
        using var limit = TensorEngine.LimitThreads(2);
        var a = new[] { Values(m * K, 1), Values(m * K, 2) };
        var b = Values(K * n, 3);
        var results = new double[2][];
        using var bothStarted = new Barrier(2);
        using var firstDone = new ManualResetEventSlim();
        TensorEngine.RunSharingPrimal(2, 2, i =>
        {
            Assert.True(bothStarted.SignalAndWait(TimeSpan.FromSeconds(10)));
            if (i == 1) Assert.True(firstDone.Wait(TimeSpan.FromSeconds(30)));
            results[i] = new double[m * n];
            Gemm.Multiply(false, false, m, n, K, 1.0, a[i], K, b, n, 0.0, results[i], n, primal: true);
            if (i == 0) firstDone.Set();
        });
        var expected = Product(a[0], b, m, n, K);
        Assert.Equal(expected, results[0]);
        Assert.Equal(expected, results[1]);
    }

    [Fact]
    public async Task ManyProductsInARowWithOneItemAlwaysBehindNeitherHangNorMixUp()
    {
        // Item 1 does extra work before each product, so item 0 arrives first every time, computes each product
        // alone and goes on (clearing its output at once, which item 1 must not be copying from) up to two products
        // ahead: the case in which waiting for the other's "copied" mark to equal (not reach) a number hung both.
        const int products = 200;
        using var limit = TensorEngine.LimitThreads(2);
        var a = Values(M * K, 1);
        var b = Values(K * N, 3);
        var expected = Product(a, b, M, N, K);
        var mismatches = new int[2];
        using var bothStarted = new Barrier(2);
        var run = Task.Run(() => TensorEngine.RunSharingPrimal(2, 2, i =>
        {
            Assert.True(bothStarted.SignalAndWait(TimeSpan.FromSeconds(10)));
            var c = new double[M * N];
            for (int p = 0; p < products; p++)
            {
                if (i == 1) Thread.SpinWait(20_000);
                Gemm.Multiply(false, false, M, N, K, 1.0, a, K, b, N, 0.0, c, N, primal: true);
                if (!c.AsSpan().SequenceEqual(expected)) mismatches[i]++;
                Array.Clear(c);
            }
        }));
        bool finished = await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(60))) == run;
        Assert.True(finished, "the items did not finish within 60 s");
        await run;
        Assert.Equal([0, 0], mismatches);
    }

    [Fact]
    public void ProductsOfTangentsAreNotShared()
    {
        using var limit = TensorEngine.LimitThreads(2);
        var a = new[] { Values(M * K, 1), Values(M * K, 2) };
        var b = Values(K * N, 3);
        var results = new double[2][];
        TensorEngine.RunSharingPrimal(2, 2, i =>
        {
            results[i] = new double[M * N];
            Gemm.Multiply(false, false, M, N, K, 1.0, a[i], K, b, N, 0.0, results[i], N);
        });
        for (int i = 0; i < 2; i++) Assert.Equal(Product(a[i], b, M, N, K), results[i]);
    }

    [Fact]
    public void ItemsWhoseProductsDifferStopSharingAndComputeAlone()
    {
        // Item 1's second product has twice the inner dimension: from there both compute alone, and nobody waits forever.
        using var limit = TensorEngine.LimitThreads(2);
        var a = new[] { Values(M * K, 1), Values(M * 2 * K, 2) };
        var b = new[] { Values(K * N, 3), Values(2 * K * N, 4) };
        var results = new double[2][][];
        using var bothStarted = new Barrier(2);
        TensorEngine.RunSharingPrimal(2, 2, i =>
        {
            Assert.True(bothStarted.SignalAndWait(TimeSpan.FromSeconds(10)));
            results[i] = new double[3][];
            for (int p = 0; p < 3; p++)
            {
                int shape = i == 1 && p == 1 ? 1 : 0, k = (shape + 1) * K;
                results[i][p] = new double[M * N];
                Gemm.Multiply(false, false, M, N, k, 1.0, a[shape], k, b[shape], N, 0.0, results[i][p], N, primal: true);
            }
        });
        for (int i = 0; i < 2; i++)
            for (int p = 0; p < 3; p++)
            {
                int shape = i == 1 && p == 1 ? 1 : 0;
                Assert.Equal(Product(a[shape], b[shape], M, N, (shape + 1) * K), results[i][p]);
            }
    }

    [Fact]
    public void SmallProductsAreNotShared()
    {
        // Below 2²² multiply-adds the threads would wait for each other longer than half a product takes.
        using var limit = TensorEngine.LimitThreads(2);
        const int m = 128, n = 96, k = 80;
        var a = new[] { Values(m * k, 1), Values(m * k, 2) };
        var b = Values(k * n, 3);
        var results = new double[2][];
        using var bothStarted = new Barrier(2);
        TensorEngine.RunSharingPrimal(2, 2, i =>
        {
            Assert.True(bothStarted.SignalAndWait(TimeSpan.FromSeconds(10)));
            results[i] = new double[m * n];
            Gemm.Multiply(false, false, m, n, k, 1.0, a[i], k, b, n, 0.0, results[i], n, primal: true);
        });
        for (int i = 0; i < 2; i++) Assert.Equal(Product(a[i], b, m, n, k), results[i]);
    }

    [Fact]
    public void AnItemThatFailsLeavesTheOthersToFinishAlone()
    {
        using var limit = TensorEngine.LimitThreads(2);
        var a = Values(M * K, 1);
        var b = Values(K * N, 3);
        double[][]? products = null;
        var error = Assert.Throws<InvalidOperationException>(() => TensorEngine.RunSharingPrimal(2, 2, i =>
        {
            if (i == 1) throw new InvalidOperationException("item 1");
            products = Enumerable.Range(0, 3).Select(_ =>
            {
                var c = new double[M * N];
                Gemm.Multiply(false, false, M, N, K, 1.0, a, K, b, N, 0.0, c, N, primal: true);
                return c;
            }).ToArray();
        }));
        Assert.Equal("item 1", error.Message);
        Assert.All(products!, c => Assert.Equal(Product(a, b, M, N, K), c));
    }

    [Fact]
    public void HessianVectorProductsOfChunksSideBySideEqualThoseComputedAlone()
    {
        // Forward-over-reverse through a two-layer network whose layer products are large enough to be shared: the
        // values, the gradient (a weight's Xᵀ·G) and each chunk's tangents must not depend on the sharing.
        using var limit = TensorEngine.LimitThreads(2);
        using var scope = TensorScope.Begin();
        var x = Tensor<double>.FromArray(Values(M * K, 5), M, K);
        var w = Tensor<double>.FromArray(Values(K * N, 6), K * N);
        var tangents = Enumerable.Range(0, 4).Select(c => Tensor<double>.FromArray(Values(2 * K * N, 7 + c), 2, K * N)).ToArray();
        Tensor<double> Loss(Tensor<double> weights)
            => Ops.Sum(Ops.Tanh(Ops.MatMul(Ops.Tanh(Ops.MatMul(x, Ops.Reshape(weights, K, N))), Ops.Reshape(weights, K, N), transposeB: true)));
        (double[] Gradient, double[] Tangents) Chunk(int c)
        {
            using var chunkScope = TensorScope.Begin();
            var (values, outTangents) = Autodiff.JvpStacked(p => [Autodiff.Grad(q => Loss(q[0]), p[0])[0]], [w], [tangents[c]]);
            return (values[0].ToArray(), outTangents[0].ToArray());
        }
        var alone = new (double[], double[])[4];
        using (TensorEngine.LimitThreads(1))
            for (int c = 0; c < 4; c++) alone[c] = Chunk(c);
        var sideBySide = new (double[], double[])[4];
        TensorEngine.RunSharingPrimal(4, 2, c => sideBySide[c] = Chunk(c));
        for (int c = 0; c < 4; c++)
        {
            Assert.Equal(alone[c].Item1, sideBySide[c].Item1);
            Assert.Equal(alone[c].Item2, sideBySide[c].Item2);
        }
    }

    [Fact]
    public void BadArgumentsAreRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => TensorEngine.RunSharingPrimal(3, 0, _ => { }));
        Assert.Throws<ArgumentOutOfRangeException>(() => TensorEngine.RunSharingPrimal(-1, 2, _ => { }));
    }

    private static double[] Values(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => random.NextDouble() - 0.5).ToArray();
    }

    private static double[] Product(double[] a, double[] b, int m, int n, int k)
    {
        var c = new double[m * n];
        Gemm.Multiply(false, false, m, n, k, 1.0, a, k, b, n, 0.0, c, n);
        return c;
    }
}
