using System.Globalization;
using System.Numerics;

namespace Bilevel.Tensors.Tests;

/// <summary>
/// The kernels behind the ops, over every length 0..256 so that every vector width's tail is exercised, with fixed
/// seeds, against scalar references: transcendental maps to within a few ulps of <see cref="Math"/> (scaled by the
/// magnitude of the result), correctly rounded arithmetic (add, subtract, multiply, divide, copies, comparisons,
/// max) exactly.
/// </summary>
public class KernelTests
{
    private const int MaxLength = 256;

    public static TheoryData<string> UnaryOps => ["neg", "exp", "log", "sqrt", "rsqrt", "pow", "tanh", "sigmoid", "softplus", "relu", "clamp", "scale", "add-scalar"];

    [Theory]
    [MemberData(nameof(UnaryOps))]
    public void Unary_matches_math_in_float64(string op) => CheckUnary<double>(op);

    [Theory]
    [MemberData(nameof(UnaryOps))]
    public void Unary_matches_math_in_float32(string op) => CheckUnary<float>(op);

    public static TheoryData<string, string> BinaryCases
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var op in new[] { "add", "sub", "mul", "div" })
                foreach (var layout in new[] { "row∘row", "row∘scalar", "scalar∘row", "rows∘row", "rows∘column", "column∘row" })
                    data.Add(op, layout);
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(BinaryCases))]
    public void Binary_matches_scalar_arithmetic_in_float64(string op, string layout) => CheckBinary<double>(op, layout);

    [Theory]
    [MemberData(nameof(BinaryCases))]
    public void Binary_matches_scalar_arithmetic_in_float32(string op, string layout) => CheckBinary<float>(op, layout);

    [Theory]
    [InlineData("sum", 1)]
    [InlineData("sum", 3)]
    [InlineData("max", 1)]
    [InlineData("max", 3)]
    public void Reductions_over_last_and_first_axis_in_float64(string op, int rows) => CheckReductions<double>(op, rows);

    [Theory]
    [InlineData("sum", 1)]
    [InlineData("sum", 3)]
    [InlineData("max", 1)]
    [InlineData("max", 3)]
    public void Reductions_over_last_and_first_axis_in_float32(string op, int rows) => CheckReductions<float>(op, rows);

    [Fact]
    public void Permute_len_by_3_to_3_by_len_and_back()
    {
        for (int len = 0; len <= MaxLength; len++)
        {
            using var scope = TensorScope.Begin();
            var data = Uniform<double>(new Random(len), -1, 1, len * 3);
            var x = Tensor<double>.FromArray(data, len, 3);
            var y = Ops.Permute(x, 1, 0);
            Assert.Equal(new Shape(3, len), y.Shape);
            var ys = y.Span;
            for (int i = 0; i < len; i++)
                for (int j = 0; j < 3; j++)
                    if (ys[j * len + i] != data[i * 3 + j])
                        Assert.Fail($"permute [{len}, 3] → [3, {len}]: y[{j}, {i}] = {ys[j * len + i]}, expected x[{i}, {j}] = {data[i * 3 + j]}");
            Assert.Equal(data, Ops.Permute(y, 1, 0).ToArray());
        }
    }

    [Fact]
    public void Indicator_mask_matches_scalar_comparisons_including_the_bounds()
    {
        for (int len = 0; len <= MaxLength; len++)
        {
            using var scope = TensorScope.Begin();
            var rng = new Random(len);
            // A quarter of the values sit exactly on a bound, where inclusive and exclusive differ.
            var data = Enumerable.Range(0, len).Select(_ => rng.Next(4) switch { 0 => -0.5f, 1 => 0.75f, _ => (float)(rng.NextDouble() * 3 - 1.5) }).ToArray();
            var x = Tensor<float>.FromArray(data, len);
            foreach (bool lowInclusive in new[] { false, true })
            {
                var m = Ops.Indicator(x, -0.5f, 0.75f, lowInclusive).Span;
                for (int i = 0; i < len; i++)
                {
                    float expected = (lowInclusive ? data[i] >= -0.5f : data[i] > -0.5f) && data[i] <= 0.75f ? 1 : 0;
                    if (m[i] != expected) Assert.Fail($"indicator (low inclusive {lowInclusive}), length {len}: element {i} = {data[i]} gave {m[i]}, expected {expected}");
                }
            }
        }
    }

    // ---- references ----

    /// <summary>
    /// The op, its double-precision reference, the input range, and the tolerance: <c>Ulps</c> units of T's epsilon
    /// times max(|expected|, <c>Floor</c>). Ulps is 0 where the result is one correctly rounded operation and a few
    /// for the vectorised transcendental functions. Floor is 0 (purely relative) except for tanh, whose
    /// TensorPrimitives implementation is accurate to ulps of 1 but not of the result for small |x| (float: relative
    /// error up to ~2e-3 near 0, absolute ~3e-8), so it is held to an absolute tolerance there.
    /// </summary>
    private static (Func<Tensor<T>, Tensor<T>> Op, Func<double, double> Reference, double Lo, double Hi, double Ulps, double Floor) Unary<T>(string op)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T C(double v) => T.CreateTruncating(v);
        return op switch
        {
            "neg" => (x => Ops.Neg(x), v => -v, -10, 10, 0, 0),
            "exp" => (x => Ops.Exp(x), Math.Exp, -20, 20, 4, 0),
            "log" => (x => Ops.Log(x), Math.Log, 1e-3, 100, 4, 0),
            "sqrt" => (x => Ops.Sqrt(x), Math.Sqrt, 0, 100, 1, 0),
            "rsqrt" => (x => Ops.Rsqrt(x), v => 1 / Math.Sqrt(v), 1e-2, 100, 2, 0),
            "pow" => (x => Ops.Pow(x, C(2.5)), v => Math.Pow(v, 2.5), 0, 10, 8, 0),
            "tanh" => (x => Ops.Tanh(x), Math.Tanh, -5, 5, 8, 1),
            "sigmoid" => (x => Ops.Sigmoid(x), v => 1 / (1 + Math.Exp(-v)), -20, 20, 8, 0),
            "softplus" => (x => Ops.Softplus(x), v => Math.Max(v, 0) + Log1P(Math.Exp(-Math.Abs(v))), -30, 30, 8, 0),
            "relu" => (x => Ops.Relu(x), v => Math.Max(v, 0), -5, 5, 0, 0),
            "clamp" => (x => Ops.Clamp(x, C(-1), C(1)), v => Math.Clamp(v, -1, 1), -3, 3, 0, 0),
            "scale" => (x => Ops.Scale(x, C(1.5)), v => v * 1.5, -10, 10, 0, 0),
            "add-scalar" => (x => Ops.AddScalar(x, C(0.75)), v => v + 0.75, -10, 10, 0, 0),
            _ => throw new ArgumentException($"unknown op {op}", nameof(op)),
        };
    }

    /// <summary>log(1 + x) to a few ulps for small x (Goldberg's trick: the rounding of 1 + x cancels).</summary>
    private static double Log1P(double x)
    {
        double u = 1 + x;
        return u == 1 ? x : Math.Log(u) * x / (u - 1);
    }

    private static void CheckUnary<T>(string op) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (f, reference, lo, hi, ulps, floor) = Unary<T>(op);
        double eps = Epsilon<T>();
        for (int len = 0; len <= MaxLength; len++)
        {
            using var scope = TensorScope.Begin();
            var data = Uniform<T>(new Random(len), lo, hi, len);
            var y = f(Tensor<T>.FromArray(data, len));
            Assert.Equal(new Shape(len), y.Shape);
            var ys = y.Span;
            for (int i = 0; i < len; i++)
            {
                // The reference in double, rounded to T: the best T can hold.
                double expected = double.CreateTruncating(T.CreateTruncating(reference(double.CreateTruncating(data[i]))));
                double actual = double.CreateTruncating(ys[i]);
                double allowed = ulps * eps * Math.Max(Math.Abs(expected), floor);
                if (!(Math.Abs(actual - expected) <= allowed))
                    Assert.Fail(string.Create(CultureInfo.InvariantCulture,
                        $"{op} ({typeof(T).Name}), length {len}: element {i}, x = {data[i]:R}: got {actual:R}, expected {expected:R} (|difference| {Math.Abs(actual - expected):G3} > {ulps} ulps = {allowed:G3})"));
            }
        }
    }

    private static void CheckBinary<T>(string op, string layout) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Func<Tensor<T>, Tensor<T>, Tensor<T>> f = op switch
        {
            "add" => Ops.Add,
            "sub" => Ops.Sub,
            "mul" => Ops.Mul,
            "div" => Ops.Div,
            _ => throw new ArgumentException($"unknown op {op}", nameof(op)),
        };
        Func<T, T, T> reference = op switch
        {
            "add" => (a, b) => a + b,
            "sub" => (a, b) => a - b,
            "mul" => (a, b) => a * b,
            _ => (a, b) => a / b,
        };
        const int rows = 3;
        for (int len = 0; len <= MaxLength; len++)
        {
            using var scope = TensorScope.Begin();
            var (aDims, bDims, outDims) = layout switch
            {
                "row∘row" => (new[] { len }, new[] { len }, new[] { len }),
                "row∘scalar" => ([len], [], [len]),
                "scalar∘row" => ([], [len], [len]),
                "rows∘row" => ([rows, len], [len], [rows, len]),
                "rows∘column" => ([rows, len], [rows, 1], [rows, len]),
                "column∘row" => (new[] { rows, 1 }, new[] { len }, new[] { rows, len }),
                _ => throw new ArgumentException($"unknown layout {layout}", nameof(layout)),
            };
            var rng = new Random(len);
            var a = Tensor<T>.FromArray(Uniform<T>(rng, -4, 4, Count(aDims)), aDims);
            // Divisors away from zero keep the quotients finite; the test is about the kernel, not about ∞.
            var b = Tensor<T>.FromArray(Uniform<T>(rng, 0.25, 4, Count(bDims)), bDims);
            var y = f(a, b);
            Assert.Equal(new Shape(outDims), y.Shape);
            var ys = y.Span;
            var outShape = new Shape(outDims);
            for (int i = 0; i < outShape.Length; i++)
            {
                T expected = reference(a.Span[BroadcastIndex(i, outShape, a.Shape)], b.Span[BroadcastIndex(i, outShape, b.Shape)]);
                if (ys[i] != expected)
                    Assert.Fail($"{op} {layout} ({typeof(T).Name}), length {len}: element {i} = {ys[i]}, expected {expected}");
            }
        }
    }

    private static void CheckReductions<T>(string op, int rows) where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool sum = op == "sum";
        double eps = Epsilon<T>();
        for (int len = 0; len <= MaxLength; len++)
        {
            using var scope = TensorScope.Begin();
            var data = Uniform<T>(new Random(len), -4, 4, rows * len);
            var x = Tensor<T>.FromArray(data, rows, len);
            double At(int r, int c) => double.CreateTruncating(data[r * len + c]);

            // Over the last axis: one value per row.
            var last = sum ? Ops.Sum(x, [1]) : Ops.Max(x, [1]);
            Assert.Equal(new Shape(rows), last.Shape);
            for (int r = 0; r < rows; r++)
            {
                var run = Enumerable.Range(0, len).Select(c => At(r, c)).ToArray();
                Expect(run, double.CreateTruncating(last.Span[r]), $"over the last axis of [{rows}, {len}], row {r}");
            }

            // Over the first axis: one value per column.
            var first = sum ? Ops.Sum(x, [0]) : Ops.Max(x, [0]);
            Assert.Equal(new Shape(len), first.Shape);
            for (int c = 0; c < len; c++)
            {
                var run = Enumerable.Range(0, rows).Select(r => At(r, c)).ToArray();
                Expect(run, double.CreateTruncating(first.Span[c]), $"over the first axis of [{rows}, {len}], column {c}");
            }

            // Over both.
            var all = sum ? Ops.Sum(x) : Ops.Max(x);
            Expect(data.Select(v => double.CreateTruncating(v)).ToArray(), double.CreateTruncating(all.Item()), $"over all of [{rows}, {len}]");
        }

        void Expect(double[] run, double actual, string where)
        {
            if (sum)
            {
                // Any order of n additions is within n·ε·Σ|x| of the exact sum.
                double expected = run.Sum();
                double allowed = Math.Max(1, run.Length) * eps * run.Sum(Math.Abs);
                if (!(Math.Abs(actual - expected) <= allowed))
                    Assert.Fail(string.Create(CultureInfo.InvariantCulture, $"sum ({typeof(T).Name}) {where}: got {actual:R}, expected {expected:R} (allowed {allowed:G3})"));
            }
            else
            {
                // The maximum is one of the elements, exactly; an empty run gives the identity −∞.
                double expected = run.Length == 0 ? double.NegativeInfinity : run.Max();
                if (actual != expected)
                    Assert.Fail(string.Create(CultureInfo.InvariantCulture, $"max ({typeof(T).Name}) {where}: got {actual:R}, expected {expected:R}"));
            }
        }
    }

    // ---- helpers ----

    internal static T[] Uniform<T>(Random rng, double lo, double hi, int count) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var a = new T[count];
        for (int i = 0; i < count; i++) a[i] = T.CreateTruncating(lo + (hi - lo) * rng.NextDouble());
        return a;
    }

    private static double Epsilon<T>() where T : unmanaged, IFloatingPointIeee754<T> => double.CreateTruncating(T.BitIncrement(T.One) - T.One);

    private static int Count(int[] dims) => dims.Aggregate(1, (a, b) => a * b);

    /// <summary>The flat index into an operand of shape <paramref name="operand"/> that output element <paramref name="flat"/> reads.</summary>
    private static int BroadcastIndex(int flat, Shape output, Shape operand)
    {
        var padded = operand.PadTo(output.Rank);
        var strides = padded.Strides();
        int offset = 0;
        for (int axis = output.Rank - 1; axis >= 0; axis--)
        {
            int index = flat % output[axis];
            flat /= output[axis];
            if (padded[axis] != 1) offset += index * strides[axis];
        }
        return offset;
    }
}

/// <summary>Tests that change <see cref="TensorEngine.ThreadCount"/> run alone, after every parallel test.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EngineThreadCountCollection
{
    public const string Name = "Engine thread count";
}

/// <summary>
/// Same inputs, same thread count, same bits: large tensors take the parallel paths (elementwise maps, broadcast
/// rows, GEMM), and two runs must agree bit for bit; exactly rounded results must also equal the serial ones.
/// </summary>
[Collection(EngineThreadCountCollection.Name)]
public class DeterminismTests
{
    private const int Large = 1 << 18;

    [Fact]
    public void Large_ops_repeat_the_same_bits_with_two_threads()
    {
        int saved = TensorEngine.ThreadCount;
        try
        {
            TensorEngine.ThreadCount = 2;
            var first = RunAll();
            var second = RunAll();
            Assert.Equal(first.Keys, second.Keys);
            foreach (var (name, bits) in first)
                Assert.True(bits.AsSpan().SequenceEqual(second[name]), $"{name}: two runs with ThreadCount = 2 gave different bits");
        }
        finally
        {
            TensorEngine.ThreadCount = saved;
        }
    }

    [Fact]
    public void Parallel_exact_ops_equal_the_serial_result_and_maps_match_math()
    {
        int saved = TensorEngine.ThreadCount;
        try
        {
            var rng = new Random(3);
            var a = Tensor<double>.FromArray(KernelTests.Uniform<double>(rng, -4, 4, Large), 512, 512);
            var b = Tensor<double>.FromArray(KernelTests.Uniform<double>(rng, 0.5, 4, 512), 512);
            TensorEngine.ThreadCount = 1;
            var serial = new[] { Ops.Add(a, b), Ops.Div(a, b), Ops.Relu(a), Ops.BroadcastTo(Ops.Reshape(b, 512, 1), new Shape(512, 512)) }.Select(t => t.ToArray()).ToArray();
            TensorEngine.ThreadCount = 2;
            var parallel = new[] { Ops.Add(a, b), Ops.Div(a, b), Ops.Relu(a), Ops.BroadcastTo(Ops.Reshape(b, 512, 1), new Shape(512, 512)) }.Select(t => t.ToArray()).ToArray();
            string[] names = ["add", "div", "relu", "broadcast-to"];
            for (int k = 0; k < names.Length; k++)
                Assert.True(serial[k].AsSpan().SequenceEqual(parallel[k]), $"{names[k]}: ThreadCount 2 differs from ThreadCount 1");
            // Every chunk of a parallel map is computed (none skipped or shifted).
            var e = Ops.Exp(a).Span;
            var xs = a.Span;
            for (int i = 0; i < Large; i++)
                if (!(Math.Abs(e[i] - Math.Exp(xs[i])) <= 9e-16 * Math.Exp(xs[i])))
                    Assert.Fail($"exp with ThreadCount 2: element {i} = {e[i]}, expected {Math.Exp(xs[i])}");
        }
        finally
        {
            TensorEngine.ThreadCount = saved;
        }
    }

    private static Dictionary<string, byte[]> RunAll()
    {
        using var scope = TensorScope.Begin();
        var rng = new Random(11);
        var x = Tensor<double>.FromArray(KernelTests.Uniform<double>(rng, -3, 3, Large), 512, 512);
        var row = Tensor<double>.FromArray(KernelTests.Uniform<double>(rng, -3, 3, 512), 512);
        var xf = Tensor<float>.FromArray(KernelTests.Uniform<float>(rng, -3, 3, Large), Large);
        var w = Tensor<double>.FromArray(KernelTests.Uniform<double>(rng, -0.1, 0.1, 512 * 64), 512, 64);
        var results = new Dictionary<string, Tensor<double>>
        {
            ["exp"] = Ops.Exp(x),
            ["softplus"] = Ops.Softplus(x),
            ["tanh"] = Ops.Tanh(x),
            ["add broadcast"] = Ops.Add(x, row),
            ["mul"] = Ops.Mul(x, x),
            ["sum over rows"] = Ops.Sum(x, [0]),
            ["sum over columns"] = Ops.Sum(x, [1]),
            ["max"] = Ops.Max(x, [1]),
            ["logsumexp"] = Ops.LogSumExp(x, [1]),
            ["matmul"] = Ops.MatMul(x, w),
            ["matmul transposed"] = Ops.MatMul(x, x, transposeA: true),
            ["mlp gradient"] = Autodiff.Grad(p => Ops.Mean(Ops.Softplus(Ops.MatMul(Ops.Tanh(Ops.MatMul(x, p[0])), p[0], transposeB: true))), w)[0],
        };
        var bits = results.ToDictionary(kv => kv.Key, kv => System.Runtime.InteropServices.MemoryMarshal.AsBytes(kv.Value.Span).ToArray());
        bits["exp float"] = System.Runtime.InteropServices.MemoryMarshal.AsBytes(Ops.Exp(xf).Span).ToArray();
        bits["sigmoid float"] = System.Runtime.InteropServices.MemoryMarshal.AsBytes(Ops.Sigmoid(xf).Span).ToArray();
        return bits;
    }
}
