using Bilevel.Tensors.Internal.Kernels;

namespace Bilevel.Tensors.Tests;

public class LinalgTests
{
    /// <summary>The dispatcher (OpenBLAS where installed) and the managed fallback it uses otherwise.</summary>
    public enum Path
    {
        Dispatch,
        Managed,
    }

    // Past OpenBLAS's blocking (and threading) thresholds at the top, so its blocked code runs; from 256 on, on two or
    // more engine threads, the factorisation goes by blocks of 64 over them (257: a last block of one column).
    private static readonly int[] Sizes = [1, 2, 3, 7, 16, 33, 100, 257, 400, 600];

    public static TheoryData<Path, int> Cases()
    {
        var data = new TheoryData<Path, int>();
        foreach (var path in Enum.GetValues<Path>())
            foreach (int n in Sizes) data.Add(path, n);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Solves_with_the_right_hand_sides_as_columns(Path path, int n)
    {
        var rng = new Random(n);
        var a = RandomSpd(rng, n);
        foreach (int m in new[] { 1, 3, 50 })
        {
            var b = RandomArray(rng, n * m);
            var x = (double[])b.Clone();
            Solve(path, Factor(path, a, n), n, x, m, rows: false);
            // A X against B, column by column of the row-major [n, m] buffers.
            var ax = new double[n * m];
            for (int i = 0; i < n; i++)
                for (int k = 0; k < n; k++)
                    for (int j = 0; j < m; j++) ax[i * m + j] += a[i * n + k] * x[k * m + j];
            AssertRelative(b, ax, 1e-10);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Solves_with_the_right_hand_sides_as_rows(Path path, int n)
    {
        var rng = new Random(1000 + n);
        var a = RandomSpd(rng, n);
        foreach (int m in new[] { 1, 4, 50 })
        {
            var b = RandomArray(rng, m * n);
            var x = (double[])b.Clone();
            Solve(path, Factor(path, a, n), n, x, m, rows: true);
            // Each row r of X must satisfy A x_r = b_r.
            var ax = new double[m * n];
            for (int r = 0; r < m; r++)
                for (int i = 0; i < n; i++)
                    for (int k = 0; k < n; k++) ax[r * n + i] += a[i * n + k] * x[r * n + k];
            AssertRelative(b, ax, 1e-10);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Factor_reads_and_writes_only_the_lower_triangle(Path path, int n)
    {
        var a = RandomSpd(new Random(n), n);
        var marked = (double[])a.Clone();
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++) marked[i * n + j] = double.NaN;
        var l = Factor(path, marked, n);
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++) Assert.True(double.IsNaN(l[i * n + j]), $"entry ({i}, {j}) above the diagonal was written");
        // L Lᵀ reproduces A.
        var product = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++)
            {
                double s = 0;
                for (int k = 0; k <= j; k++) s += l[i * n + k] * l[j * n + k];
                product[i * n + j] = product[j * n + i] = s;
            }
        AssertRelative(a, product, 1e-12);
    }

    [Theory]
    [InlineData(Path.Dispatch)]
    [InlineData(Path.Managed)]
    public void Not_positive_definite_gives_false(Path path)
    {
        const int n = 120;
        var rng = new Random(3);
        // A positive definite matrix minus more than its smallest eigenvalue: indefinite.
        var indefinite = RandomSpd(rng, n);
        for (int i = 0; i < n; i++) indefinite[i * n + i] -= 3 * n;
        Assert.False(TryFactor(path, indefinite, n));

        var singular = new double[n * n];
        for (int i = 0; i < n - 1; i++) singular[i * n + i] = 1;
        Assert.False(TryFactor(path, singular, n));

        var withNaN = RandomSpd(rng, n);
        withNaN[(n - 1) * n + 5] = double.NaN;
        Assert.False(TryFactor(path, withNaN, n));

        var withInfinity = RandomSpd(rng, n);
        withInfinity[50 * n + 49] = double.PositiveInfinity;
        Assert.False(TryFactor(path, withInfinity, n));
    }

    [Fact]
    public void A_pivot_that_fails_past_the_first_block_gives_false()
    {
        const int n = 400;
        var a = RandomSpd(new Random(4), n);
        // The leading 399×399 block stays positive definite: the factorisation fails in its last block.
        a[(n - 1) * n + n - 1] = -1;
        Assert.False(Linalg.CholeskyFactorInPlace(a, n));
    }

    [Fact]
    public void Managed_fallback_matches_the_dispatcher()
    {
        const int n = 300, m = 37;
        var rng = new Random(11);
        var a = RandomSpd(rng, n);
        var native = Factor(Path.Dispatch, a, n);
        var managed = Factor(Path.Managed, a, n);
        AssertRelative(managed, native, 1e-12);
        foreach (bool rows in new[] { false, true })
        {
            var b = RandomArray(rng, n * m);
            var x1 = (double[])b.Clone();
            var x2 = (double[])b.Clone();
            Solve(Path.Dispatch, native, n, x1, m, rows);
            Solve(Path.Managed, managed, n, x2, m, rows);
            AssertRelative(x2, x1, 1e-11);
        }
    }

    [Fact]
    public void Sizes_that_do_not_fit_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => Linalg.CholeskyFactorInPlace(new double[8], 3));
        Assert.Throws<ArgumentException>(() => Linalg.CholeskySolveInPlace(new double[9], 3, new double[7], 2));
        Assert.Throws<ArgumentException>(() => Linalg.CholeskySolveRowsInPlace(new double[4], 3, new double[6], 2));
        Assert.True(Linalg.CholeskyFactorInPlace([], 0));
    }

    private static double[] Factor(Path path, double[] a, int n)
    {
        var l = (double[])a.Clone();
        Assert.True(path == Path.Managed ? ManagedCholesky.Factor(l, n) : Linalg.CholeskyFactorInPlace(l, n));
        return l;
    }

    private static bool TryFactor(Path path, double[] a, int n)
        => path == Path.Managed ? ManagedCholesky.Factor(a, n) : Linalg.CholeskyFactorInPlace(a, n);

    private static void Solve(Path path, double[] l, int n, double[] b, int m, bool rows)
    {
        if (path == Path.Managed)
        {
            if (rows) ManagedCholesky.SolveRows(l, n, b, m);
            else ManagedCholesky.SolveColumns(l, n, b, m);
        }
        else if (rows) Linalg.CholeskySolveRowsInPlace(l, n, b, m);
        else Linalg.CholeskySolveInPlace(l, n, b, m);
    }

    /// <summary>A = M Mᵀ / n + I with M uniform in [-1, 1]: symmetric, eigenvalues in [1, about 5].</summary>
    private static double[] RandomSpd(Random rng, int n)
    {
        var mat = RandomArray(rng, n * n);
        var a = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++)
            {
                double s = 0;
                for (int k = 0; k < n; k++) s += mat[i * n + k] * mat[j * n + k];
                a[i * n + j] = a[j * n + i] = s / n + (i == j ? 1 : 0);
            }
        return a;
    }

    private static double[] RandomArray(Random rng, int length)
    {
        var x = new double[length];
        for (int i = 0; i < length; i++) x[i] = 2 * rng.NextDouble() - 1;
        return x;
    }

    private static void AssertRelative(double[] expected, double[] actual, double tolerance)
    {
        double error = 0, norm = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            error += (expected[i] - actual[i]) * (expected[i] - actual[i]);
            norm += expected[i] * expected[i];
        }
        double relative = Math.Sqrt(error / norm);
        Assert.True(relative <= tolerance, $"relative error {relative:G3} exceeds {tolerance:G3}");
    }
}
