using Xunit.Sdk;

namespace Bilevel.Tensors.Tests;

/// <summary>
/// Every primitive in <see cref="Ops"/> (and the ops composed from them) passes <see cref="GradCheck"/> (a)–(d) in
/// float64, on inputs kept away from kinks (relu at 0, clamp bounds, max ties); NaN and ±∞ reach the result; shape
/// errors are <see cref="ArgumentException"/>s naming the op and the shapes.
/// </summary>
public class OpGradientTests
{
    private const int Points = 2;

    private delegate Tensor<double> Generator(Random rng);

    private sealed record Case(Func<Tensor<double>[], Tensor<double>> F, Generator[] Inputs);

    private static readonly Dictionary<string, Case> Cases = BuildCases();

    public static TheoryData<string> CaseNames
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var name in Cases.Keys) data.Add(name);
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Op_passes_GradCheck_in_float64(string name)
    {
        var c = Cases[name];
        var rng = new Random(1234);
        for (int point = 0; point < Points; point++)
        {
            var inputs = c.Inputs.Select(g => g(rng)).ToArray();
            var report = GradCheck.Check($"{name} (point {point})", c.F, inputs, seed: 100 + point);
            Assert.True(report.Jvp <= GradCheck.Float64.Relative && report.Hvp <= GradCheck.Float64.Relative, $"{name}: {report}");
        }
    }

    [Theory]
    [InlineData("exp")]
    [InlineData("log")]
    [InlineData("tanh")]
    [InlineData("softplus")]
    [InlineData("div [3, 1] / [4]")]
    [InlineData("sum axes [1] keepDims")]
    [InlineData("max axes [0, 2]")]
    [InlineData("logsumexp axes [-1]")]
    [InlineData("matmul [2, 3, 4]ᵀ · [4, 5]")]
    [InlineData("mlp layer")]
    public void Op_passes_GradCheck_in_float32(string name)
    {
        var rng = new Random(99);
        Tensor<float> U(double lo, double hi, params int[] dims) => Tensor<float>.FromArray(Uniform(rng, lo, hi, Count(dims)).Select(v => (float)v).ToArray(), dims);
        (Func<Tensor<float>[], Tensor<float>> F, Tensor<float>[] Inputs) c = name switch
        {
            "exp" => (x => Ops.Exp(x[0]), new[] { U(-2, 2, 3, 4) }),
            "log" => (x => Ops.Log(x[0]), new[] { U(0.5, 3, 3, 4) }),
            "tanh" => (x => Ops.Tanh(x[0]), new[] { U(-2, 2, 3, 4) }),
            "softplus" => (x => Ops.Softplus(x[0]), new[] { U(-4, 4, 3, 4) }),
            "div [3, 1] / [4]" => (x => Ops.Div(x[0], x[1]), new[] { U(-2, 2, 3, 1), U(0.5, 2, 4) }),
            "sum axes [1] keepDims" => (x => Ops.Sum(x[0], [1], keepDims: true), new[] { U(-2, 2, 2, 3, 4) }),
            "max axes [0, 2]" => (x => Ops.Max(x[0], [0, 2]), new[] { Tensor<float>.FromArray(Distinct(rng, 24).Select(v => (float)v).ToArray(), 2, 3, 4) }),
            "logsumexp axes [-1]" => (x => Ops.LogSumExp(x[0], [-1]), new[] { U(-2, 2, 2, 3, 4) }),
            "matmul [2, 3, 4]ᵀ · [4, 5]" => (x => Ops.MatMul(x[0], x[1], transposeA: true), new[] { U(-1, 1, 2, 4, 3), U(-1, 1, 4, 5) }),
            "mlp layer" => (x => Ops.Tanh(Ops.Add(Ops.MatMul(x[0], x[1]), x[2])), new[] { U(-1, 1, 4, 5), U(-1, 1, 5, 3), U(-1, 1, 3) }),
            _ => throw new ArgumentException($"unknown float32 case {name}", nameof(name)),
        };
        var report = GradCheck.Check(name + " (float32)", c.F, c.Inputs, seed: 7);
        Assert.True(report.Jvp <= GradCheck.Float32.Relative, report.ToString());
    }

    [Fact]
    public void GradCheck_catches_a_wrong_derivative()
    {
        // x·detach(x) has value x² but autodiff sees only one factor: its derivative is x, not 2x.
        var x = Tensor<double>.FromArray([0.5, -1.25, 2.0], 3);
        var e = Assert.Throws<XunitException>(() => GradCheck.Check("x·detach(x)", v => Ops.Mul(v[0], Ops.Detach(v[0])), x));
        Assert.Contains("[jvp]", e.Message, StringComparison.Ordinal);
        Assert.Contains("x·detach(x)", e.Message, StringComparison.Ordinal);
        Assert.Contains("central difference", e.Message, StringComparison.Ordinal);
        Assert.Contains("x0[3]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GradCheck_catches_a_wrong_second_derivative()
    {
        // x·x·detach(x): the Jvp of its (wrong) gradient cannot see through the detached factor, central differences
        // of the same gradient do; only the HVP check runs, so the failure must name it.
        var x = Tensor<double>.FromArray([0.5, -1.25, 2.0], 3);
        var e = Assert.Throws<XunitException>(() => GradCheck.CheckHvp("detached cube", v => Ops.Mul(Ops.Mul(v[0], v[0]), Ops.Detach(v[0])), x));
        Assert.Contains("[hvp]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Clamp_gradient_is_one_on_the_bounds_and_zero_outside()
    {
        var x = Tensor<double>.FromArray([-1.0, 1.0, 0.25, 2.0, -2.0], 5);
        var g = Autodiff.Grad(v => Ops.Sum(Ops.Clamp(v[0], -1.0, 1.0)), x)[0];
        Assert.Equal([1.0, 1.0, 1.0, 0.0, 0.0], g.ToArray());
        var (_, t) = Autodiff.Jvp(v => Ops.Clamp(v[0], -1.0, 1.0), [x], [Tensor<double>.Full(x.Shape, 3.0)]);
        Assert.Equal([3.0, 3.0, 3.0, 0.0, 0.0], t.ToArray());
    }

    [Fact]
    public void Relu_gradient_at_zero_is_zero()
    {
        var x = Tensor<double>.FromArray([0.0, 1e-300, -1e-300], 3);
        Assert.Equal([0.0, 1.0, 0.0], Autodiff.Grad(v => Ops.Sum(Ops.Relu(v[0])), x)[0].ToArray());
    }

    [Fact]
    public void Max_ties_share_the_gradient_equally()
    {
        var x = Tensor<double>.FromArray([1.0, 3.0, 3.0, 2.0, 5.0, 5.0, 5.0, 0.0], 2, 4);
        var g = Autodiff.Grad(v => Ops.Sum(Ops.Max(v[0], [1])), x)[0];
        Assert.Equal([0.0, 0.5, 0.5, 0.0, 1.0 / 3, 1.0 / 3, 1.0 / 3, 0.0], g.ToArray());
    }

    [Fact]
    public void Detach_stops_the_gradient_and_indicator_is_constant()
    {
        var x = Tensor<double>.FromArray([0.5, -1.5, 2.0], 3);
        Assert.Equal(x.ToArray(), Autodiff.Grad(v => Ops.Sum(Ops.Mul(v[0], Ops.Detach(v[0]))), x)[0].ToArray());
        Assert.Equal([0.0, 0.0, 0.0], Autodiff.Grad(v => Ops.Sum(Ops.Indicator(v[0], -1.0, 1.0)), x)[0].ToArray());
    }

    [Fact]
    public void Where_with_condition_and_choice_both_broadcast_along_the_last_axis_keeps_the_other_operand()
    {
        // Rows 0 and 2 take a = 5; row 1 keeps b's row: the condition and a are both constant along the last axis.
        var condition = Tensor<double>.FromArray([1.0, 0.0, 1.0], 3, 1);
        var a = Tensor<double>.Scalar(5.0);
        var b = Tensor<double>.FromArray([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0], 3, 4);
        Assert.Equal([5.0, 5.0, 5.0, 5.0, 4.0, 5.0, 6.0, 7.0, 5.0, 5.0, 5.0, 5.0], Ops.Where(condition, a, b).ToArray());
    }

    [Fact]
    public void Grad_of_an_unused_input_is_zero()
    {
        var a = Tensor<double>.FromArray([1.0, 2.0], 2);
        var b = Tensor<double>.FromArray([3.0, 4.0, 5.0], 3);
        var g = Autodiff.Grad(v => Ops.Sum(Ops.Exp(v[0])), a, b);
        Assert.Equal(Math.E, g[0].Span[0], 1e-15);
        Assert.Equal(Math.Exp(2), g[0].Span[1], 1e-14);
        Assert.Equal(new Shape(3), g[1].Shape);
        Assert.Equal([0.0, 0.0, 0.0], g[1].ToArray());
    }

    // ---- NaN and infinities propagate ----

    [Fact]
    public void NaN_and_infinities_propagate_through_elementwise_ops()
    {
        var x = Tensor<double>.FromArray([double.NaN, double.PositiveInfinity, double.NegativeInfinity, 1.0], 4);
        var one = Tensor<double>.FromArray([1.0, 1.0, 1.0, 1.0], 4);
        AssertSame([double.NaN, double.PositiveInfinity, double.NegativeInfinity, 2.0], Ops.Add(x, one), "add");
        AssertSame([double.NaN, double.PositiveInfinity, 0.0, Math.E], Ops.Exp(x), "exp");
        AssertSame([double.NaN, double.PositiveInfinity, 0.0, 1.0], Ops.Relu(x), "relu");
        AssertSame([double.NaN, 2.0, -2.0, 1.0], Ops.Clamp(x, -2.0, 2.0), "clamp");
        AssertSame([double.NaN, double.PositiveInfinity, 0.0, Math.Log(1 + Math.E)], Ops.Softplus(x), "softplus");
        AssertSame([double.NaN, 1.0, 0.0, 1 / (1 + Math.Exp(-1))], Ops.Sigmoid(x), "sigmoid");
        AssertSame([double.NaN, double.NaN, double.NaN, 1.0], Ops.Add(Ops.Mul(x, Ops.Sub(x, x)), one), "x·(x − x) + 1");
        // Where keeps the NaN of the chosen operand and only that one.
        var cond = Tensor<double>.FromArray([1.0, 0.0, 1.0, 0.0], 4);
        AssertSame([double.NaN, 1.0, double.NegativeInfinity, 1.0], Ops.Where(cond, x, one), "where");
    }

    [Fact]
    public void A_NaN_or_infinite_cotangent_is_not_hidden_by_the_zero_derivative_of_relu_or_clamp()
    {
        var x = Tensor<double>.FromArray([-1.0, 2.0, 3.0, -4.0], 4);
        var cotangent = Tensor<double>.FromArray([double.NaN, double.NaN, 1.0, double.PositiveInfinity], 4);
        AssertSame([double.NaN, double.NaN, 1.0, double.NaN], Autodiff.Vjp(a => Ops.Relu(a[0]), [x], cotangent).Cotangents[0], "relu");
        AssertSame([double.NaN, double.NaN, 0.0, double.NaN], Autodiff.Vjp(a => Ops.Clamp(a[0], 0.0, 2.0), [x], cotangent).Cotangents[0], "clamp");
    }

    [Fact]
    public void NaN_propagates_through_reductions_but_only_into_its_slice()
    {
        // [3, 4] with a NaN at (1, 2).
        var data = Enumerable.Range(0, 12).Select(i => (double)i).ToArray();
        data[6] = double.NaN;
        var x = Tensor<double>.FromArray(data, 3, 4);
        AssertSame([6.0, double.NaN, 38.0], Ops.Sum(x, [1]), "sum over last axis");
        AssertSame([12.0, 15.0, double.NaN, 21.0], Ops.Sum(x, [0]), "sum over first axis");
        AssertSame([double.NaN], Ops.Reshape(Ops.Sum(x), 1), "sum over all");
        AssertSame([3.0, double.NaN, 11.0], Ops.Max(x, [1]), "max over last axis");
        AssertSame([8.0, 9.0, double.NaN, 11.0], Ops.Max(x, [0]), "max over first axis");
        AssertSame([double.NaN], Ops.Reshape(Ops.Max(x), 1), "max over all");
        Assert.True(double.IsNaN(Ops.LogSumExp(x, [1]).Span[1]), "logsumexp of a NaN slice");
        Assert.True(double.IsNaN(Ops.Mean(x, [0]).Span[2]), "mean of a NaN slice");
        // The NaN also reaches the gradient, and only its own entry.
        var g = Autodiff.Grad(v => Ops.Sum(Ops.Exp(v[0])), x)[0];
        Assert.True(double.IsNaN(g.Span[6]));
        Assert.Equal(11, g.ToArray().Count(double.IsFinite));
    }

    [Fact]
    public void Infinities_in_reductions_follow_ieee()
    {
        var x = Tensor<double>.FromArray([1.0, double.PositiveInfinity, 2.0, double.PositiveInfinity, double.NegativeInfinity, 0.0,
            double.NegativeInfinity, double.NegativeInfinity, double.NegativeInfinity], 3, 3);
        AssertSame([double.PositiveInfinity, double.NaN, double.NegativeInfinity], Ops.Sum(x, [1]), "sum");
        AssertSame([double.PositiveInfinity, double.PositiveInfinity, double.NegativeInfinity], Ops.Max(x, [1]), "max");
        AssertSame([double.PositiveInfinity, double.PositiveInfinity, double.NegativeInfinity], Ops.LogSumExp(x, [1]), "logsumexp");
    }

    [Theory]
    [InlineData(3, 4, 5)]        // managed kernel
    [InlineData(40, 50, 60)]     // large enough for the native kernel when OpenBLAS is present
    public void NaN_propagates_through_matmul_and_is_not_hidden_by_zeros(int m, int k, int n)
    {
        var rng = new Random(5);
        var a = Tensor<double>.FromArray(Uniform(rng, -1, 1, m * k), m, k);
        var b = Tensor<double>.FromArray(Uniform(rng, -1, 1, k * n), k, n);
        a.Span[1 * k + 2] = double.NaN;     // a[1, 2]
        b.Span[0] = double.PositiveInfinity;   // b[0, 0]: ∞·finite = ±∞ down column 0
        b.Span[(k - 1) * n + 3] = double.NaN;  // b[k-1, 3]
        // Row k-2 of b is zero: a NaN in column k-2 of a must still give NaN (NaN·0 = NaN), never be skipped.
        b.Span.Slice((k - 2) * n, n).Clear();
        a.Span[0 * k + (k - 2)] = double.NaN; // a[0, k-2]
        var c = Ops.MatMul(a, b);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double v = c.Span[i * n + j];
                bool expectNaN = i == 0 || i == 1 || j == 3;
                if (expectNaN) Assert.True(double.IsNaN(v), $"c[{i}, {j}] = {v}, expected NaN");
                else if (j == 0) Assert.True(double.IsInfinity(v), $"c[{i}, {j}] = {v}, expected ±∞ from b[0, 0] = ∞");
                else Assert.True(double.IsFinite(v), $"c[{i}, {j}] = {v}, expected finite");
            }
        // Transposed operands read the same elements.
        var ct = Ops.MatMul(Ops.Transpose(a), Ops.Transpose(b), transposeA: true, transposeB: true);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                Assert.Equal(double.IsNaN(c.Span[i * n + j]), double.IsNaN(ct.Span[i * n + j]));
    }

    // ---- errors name the op and the shapes ----

    [Fact]
    public void Matmul_inner_mismatch_names_op_and_both_shapes()
    {
        AssertError(() => Ops.MatMul(Zeros(3, 4), Zeros(5, 6)), "matmul", "[3, 4]", "[5, 6]");
        AssertError(() => Ops.MatMul(Zeros(3, 4), Zeros(3, 6), transposeB: true), "matmul", "[3, 4]", "[3, 6]");
        AssertError(() => Ops.MatMul(Zeros(3, 4), Zeros(4)), "matmul", "[3, 4]", "[4]");
    }

    [Fact]
    public void Matmul_batch_mismatch_names_op_and_both_operand_shapes()
        => AssertError(() => Ops.MatMul(Zeros(2, 3, 4), Zeros(3, 4, 5)), "matmul", "[2, 3, 4]", "[3, 4, 5]");

    [Fact]
    public void Broadcasting_mismatch_names_op_and_both_shapes()
    {
        AssertError(() => Ops.Add(Zeros(3, 4), Zeros(5)), "add", "[3, 4]", "[5]");
        AssertError(() => Ops.Sub(Zeros(2, 3), Zeros(3, 3)), "sub", "[2, 3]", "[3, 3]");
        AssertError(() => Ops.Mul(Zeros(4), Zeros(2, 3)), "mul", "[4]", "[2, 3]");
        AssertError(() => Ops.Div(Zeros(2, 1, 3), Zeros(4, 2)), "div", "[2, 1, 3]", "[4, 2]");
        AssertError(() => Ops.Where(Zeros(3), Zeros(3), Zeros(4)), "where", "[3]", "[4]");
        AssertError(() => Ops.BroadcastTo(Zeros(3, 2), new Shape(3, 4)), "broadcast-to", "[3, 2]", "[3, 4]");
        AssertError(() => Ops.BroadcastTo(Zeros(3, 4), new Shape(4)), "broadcast-to", "[3, 4]", "[4]");
        AssertError(() => Ops.SumTo(Zeros(3, 4), new Shape(2, 4)), "sum-to", "[3, 4]", "[2, 4]");
        AssertError(() => Ops.Concat([Zeros(2, 3), Zeros(3, 3)], 1), "concat", "[2, 3]", "[3, 3]");
    }

    [Fact]
    public void Reshape_length_mismatch_names_op_and_both_shapes()
    {
        AssertError(() => Ops.Reshape(Zeros(3, 4), 5), "reshape", "[3, 4]", "[5]");
        AssertError(() => Ops.Reshape(Zeros(3, 4), new Shape(2, 5)), "reshape", "[3, 4]", "[2, 5]");
        AssertError(() => Ops.Reshape(Zeros(3, 4), 5, -1), "reshape", "[3, 4]", "[5, -1]");
    }

    [Fact]
    public void Bad_axis_names_op_axis_and_shape()
    {
        AssertError(() => Ops.Sum(Zeros(2, 3), [2]), "sum", "axis 2", "[2, 3]");
        AssertError(() => Ops.Max(Zeros(2, 3), [-3]), "max", "axis -3", "[2, 3]");
        AssertError(() => Ops.Mean(Zeros(2, 3), [5]), "mean", "axis 5", "[2, 3]");
        AssertError(() => Ops.LogSumExp(Zeros(2, 3), [2]), "axis 2", "[2, 3]");
        AssertError(() => Ops.Sum(Zeros(2, 3), [1, -1]), "sum", "axis", "[2, 3]");
        AssertError(() => Ops.Slice(Zeros(2, 3), 2, 0, 1), "slice", "axis 2", "[2, 3]");
        AssertError(() => Ops.Slice(Zeros(2, 3), 1, 2, 2), "slice", "axis 1", "[2, 3]");
        AssertError(() => Ops.Pad(Zeros(2, 3), -3, 0, 4), "pad", "axis -3", "[2, 3]");
        AssertError(() => Ops.Gather(Zeros(2, 3), 2, [0]), "gather", "axis 2", "[2, 3]");
        AssertError(() => Ops.Gather(Zeros(2, 3), 1, [3]), "gather", "index 3", "[2, 3]");
        AssertError(() => Ops.ScatterAdd(Zeros(2, 3), 1, [0, 1], 4), "scatter-add", "[2, 3]");
        AssertError(() => Ops.Concat([Zeros(2, 3)], 2), "concat", "axis 2", "[2, 3]");
        AssertError(() => Ops.Permute(Zeros(2, 3), 0, 0), "permute", "[0, 0]", "[2, 3]");
        AssertError(() => Ops.Transpose(Zeros(3)), "transpose", "[3]");
    }

    // ---- cases ----

    private static Dictionary<string, Case> BuildCases()
    {
        var cases = new Dictionary<string, Case>();
        void Add(string name, Func<Tensor<double>[], Tensor<double>> f, params Generator[] inputs) => cases.Add(name, new Case(f, inputs));

        // Unary maps, on [3, 4] and on a scalar and a rank-3 tensor for the first few.
        Add("neg", x => Ops.Neg(x[0]), Normal(3, 4));
        Add("neg of scalar", x => Ops.Neg(x[0]), Normal());
        Add("exp", x => Ops.Exp(x[0]), Uniform(-2, 2, 3, 4));
        Add("exp rank 3", x => Ops.Exp(x[0]), Uniform(-2, 2, 2, 3, 2));
        Add("log", x => Ops.Log(x[0]), Uniform(0.5, 3, 3, 4));
        Add("sqrt", x => Ops.Sqrt(x[0]), Uniform(0.5, 3, 3, 4));
        Add("rsqrt", x => Ops.Rsqrt(x[0]), Uniform(0.5, 3, 3, 4));
        Add("pow 3", x => Ops.Pow(x[0], 3.0), Uniform(-2, 2, 3, 4));
        Add("pow 2.5", x => Ops.Pow(x[0], 2.5), Uniform(0.5, 3, 3, 4));
        Add("pow -1.5", x => Ops.Pow(x[0], -1.5), Uniform(0.5, 3, 3, 4));
        Add("tanh", x => Ops.Tanh(x[0]), Uniform(-2, 2, 3, 4));
        Add("sigmoid", x => Ops.Sigmoid(x[0]), Uniform(-4, 4, 3, 4));
        Add("softplus", x => Ops.Softplus(x[0]), Uniform(-4, 4, 3, 4));
        Add("softplus far from 0", x => Ops.Softplus(x[0]), Fixed([-40, -16, -15, -14, 14, 15, 16, 40], 8));
        Add("relu", x => Ops.Relu(x[0]), AwayFrom([0.0], 0.05, -2, 2, 3, 4));
        Add("clamp", x => Ops.Clamp(x[0], -0.5, 0.7), AwayFrom([-0.5, 0.7], 0.05, -2, 2, 3, 4));
        Add("scale", x => Ops.Scale(x[0], -2.5), Normal(3, 4));
        Add("add-scalar", x => Ops.AddScalar(x[0], 1.75), Normal(3, 4));
        Add("indicator as a constant factor", x => Ops.Mul(Ops.Indicator(x[0], -0.5, 0.5), Ops.Exp(x[0])), AwayFrom([-0.5, 0.5], 0.05, -2, 2, 3, 4));
        Add("squared-norm", x => Ops.SquaredNorm(x[0]), Normal(3, 4));
        Add("add-scaled", x => Ops.AddScaled(x[0], x[1], x[2]), Normal(3, 4), Normal(), Normal(3, 4));
        Add("add-scaled by a one-element vector, squared", x => Ops.Mul(Ops.AddScaled(x[0], x[1], x[2]), Ops.AddScaled(x[2], x[1], x[0])), Normal(5), Normal(1), Normal(5));
        Add("operators", x => (x[0] * 2.0 + x[1] * x[0] - (-x[1]) / (x[0] * x[0] + 1.0)) - 0.5, Normal(3, 4), Normal(4));

        // Binary ops with broadcasting.
        int[][][] pairs =
        [
            [[3, 4], [3, 4]], [[3, 1], [4]], [[], [3, 4]], [[3, 4], []], [[2, 3, 4], [4]], [[4], [2, 3, 4]],
            [[2, 1, 4], [3, 1]], [[1], [2, 3]], [[2, 3, 1], [1, 1, 5]], [[], []],
        ];
        foreach (var p in pairs)
        {
            string shapes = $"{Dims(p[0])} {{0}} {Dims(p[1])}";
            Add("add " + string.Format(System.Globalization.CultureInfo.InvariantCulture, shapes, "+"), x => Ops.Add(x[0], x[1]), Normal(p[0]), Normal(p[1]));
            Add("sub " + string.Format(System.Globalization.CultureInfo.InvariantCulture, shapes, "-"), x => Ops.Sub(x[0], x[1]), Normal(p[0]), Normal(p[1]));
            Add("mul " + string.Format(System.Globalization.CultureInfo.InvariantCulture, shapes, "*"), x => Ops.Mul(x[0], x[1]), Normal(p[0]), Normal(p[1]));
            Add("div " + string.Format(System.Globalization.CultureInfo.InvariantCulture, shapes, "/"), x => Ops.Div(x[0], x[1]), Normal(p[0]), AwayFromZero(p[1]));
        }

        // Where: the condition is a constant; a and b broadcast against it and each other.
        Add("where cond [3, 4], a [3, 4], b [4]", x => Ops.Where(Condition([1, 0, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1], 3, 4), x[0], x[1]), Normal(3, 4), Normal(4));
        Add("where cond [4], a [3, 4], b [3, 1]", x => Ops.Where(Condition([0, 1, 1, 0], 4), x[0], x[1]), Normal(3, 4), Normal(3, 1));
        Add("where cond [3, 1], a [], b [3, 4]", x => Ops.Where(Condition([1, 0, 1], 3, 1), x[0], x[1]), Normal(), Normal(3, 4));
        Add("where cond [3, 1], a [3, 4], b [3, 1]", x => Ops.Where(Condition([0, 1, 0], 3, 1), x[0], x[1]), Normal(3, 4), Normal(3, 1));

        // Reductions over various axes, with and without keepDims.
        int[]?[] axesSets = [null, [0], [1], [2], [-1], [0, 2], [1, 2], [0, 1, 2]];
        foreach (var axes in axesSets)
            foreach (bool keep in new[] { false, true })
            {
                string suffix = (axes is null ? " all" : $" axes [{string.Join(", ", axes)}]") + (keep ? " keepDims" : "");
                Add("sum" + suffix, x => Ops.Sum(x[0], axes, keep), Normal(2, 3, 4));
                Add("max" + suffix, x => Ops.Max(x[0], axes, keep), Distinct(2, 3, 4));
                Add("mean" + suffix, x => Ops.Mean(x[0], axes, keep), Normal(2, 3, 4));
                Add("logsumexp" + suffix, x => Ops.LogSumExp(x[0], axes, keep), Uniform(-2, 2, 2, 3, 4));
            }
        Add("sum of a vector", x => Ops.Sum(x[0]), Normal(5));
        Add("max of a vector", x => Ops.Max(x[0], [0]), Distinct(5));
        Add("sum of a scalar", x => Ops.Sum(x[0]), Normal());
        Add("max of a scalar", x => Ops.Max(x[0]), Normal());
        Add("mean of a scalar", x => Ops.Mean(x[0]), Normal());
        Add("logsumexp of a scalar", x => Ops.LogSumExp(x[0]), Normal());

        // Layout.
        Add("reshape [2, 3, 4] → [6, 4]", x => Ops.Reshape(x[0], 6, 4), Normal(2, 3, 4));
        Add("reshape [2, 3, 4] → [4, -1]", x => Ops.Reshape(x[0], 4, -1), Normal(2, 3, 4));
        Add("reshape [1] → []", x => Ops.Reshape(x[0], Shape.Scalar), Normal(1));
        Add("reshape [] → [1, 1]", x => Ops.Reshape(x[0], 1, 1), Normal());
        Add("permute [2, 3, 4] (2, 0, 1)", x => Ops.Permute(x[0], 2, 0, 1), Normal(2, 3, 4));
        Add("permute [2, 3, 4] (1, 0, 2)", x => Ops.Permute(x[0], 1, 0, 2), Normal(2, 3, 4));
        Add("permute [2, 3, 4, 5] (3, 1, 0, 2)", x => Ops.Permute(x[0], 3, 1, 0, 2), Normal(2, 3, 4, 5));
        Add("transpose [3, 5]", x => Ops.Transpose(x[0]), Normal(3, 5));
        Add("transpose [2, 3, 4]", x => Ops.Transpose(x[0]), Normal(2, 3, 4));
        Add("broadcast-to [3, 1] → [2, 3, 4]", x => Ops.BroadcastTo(x[0], new Shape(2, 3, 4)), Normal(3, 1));
        Add("broadcast-to [4] → [3, 4]", x => Ops.BroadcastTo(x[0], new Shape(3, 4)), Normal(4));
        Add("broadcast-to [] → [2, 2]", x => Ops.BroadcastTo(x[0], new Shape(2, 2)), Normal());
        Add("broadcast-to [2, 1, 4] → [2, 3, 4]", x => Ops.BroadcastTo(x[0], new Shape(2, 3, 4)), Normal(2, 1, 4));
        Add("sum-to [2, 3, 4] → [3, 1]", x => Ops.SumTo(x[0], new Shape(3, 1)), Normal(2, 3, 4));
        Add("sum-to [2, 3, 4] → [4]", x => Ops.SumTo(x[0], new Shape(4)), Normal(2, 3, 4));
        Add("sum-to [2, 3, 4] → []", x => Ops.SumTo(x[0], Shape.Scalar), Normal(2, 3, 4));
        Add("sum-to [2, 3, 4] → [1, 4]", x => Ops.SumTo(x[0], new Shape(1, 4)), Normal(2, 3, 4));
        Add("sum-to [2, 3, 4] → [2, 1, 4]", x => Ops.SumTo(x[0], new Shape(2, 1, 4)), Normal(2, 3, 4));
        Add("slice [3, 5, 2] axis 1 [1, 4)", x => Ops.Slice(x[0], 1, 1, 3), Normal(3, 5, 2));
        Add("slice [3, 5, 2] axis 0 [2, 3)", x => Ops.Slice(x[0], 0, 2, 1), Normal(3, 5, 2));
        Add("slice [3, 5, 2] axis -1 [1, 2)", x => Ops.Slice(x[0], -1, 1, 1), Normal(3, 5, 2));
        // The blocks of a flat parameter vector: the slices' cotangents and the vector's other uses are added into
        // one buffer in place (values and, for the HVP, tangents), including overlapping windows.
        Add("slices of one vector used twice, with its squared norm", x =>
        {
            var a = Ops.Slice(x[0], 0, 0, 4);
            var b = Ops.Reshape(Ops.Slice(x[0], 0, 4, 6), 2, 3);
            var c = Ops.Slice(x[0], 0, 2, 5);
            return Ops.Add(Ops.Add(Ops.Sum(Ops.Mul(a, Ops.Exp(a))), Ops.Sum(Ops.Tanh(Ops.Mul(b, b)))), Ops.Add(Ops.Sum(Ops.Mul(c, c)), Ops.SquaredNorm(x[0])));
        }, Normal(10));
        // The squared norm first: its pullback then runs last and adds into the cotangent the slices made, where run
        // first (above) it writes that cotangent whole.
        Add("the squared norm of a vector, then slices of it", x =>
        {
            var norm = Ops.SquaredNorm(x[0]);
            var a = Ops.Slice(x[0], 0, 1, 6);
            return Ops.Add(Ops.Scale(norm, 0.5), Ops.Sum(Ops.Mul(a, Ops.Exp(a))));
        }, Normal(10));
        Add("pad [3, 2] axis 0 at 1 to 5", x => Ops.Pad(x[0], 0, 1, 5), Normal(3, 2));
        Add("pad [2, 3] axis -1 at 0 to 4", x => Ops.Pad(x[0], -1, 0, 4), Normal(2, 3));
        Add("pad [2, 3, 2] axis 1 at 2 to 5", x => Ops.Pad(x[0], 1, 2, 5), Normal(2, 3, 2));
        Add("concat axis 1 [2, 3] [2, 1] [2, 4]", x => Ops.Concat(x, 1), Normal(2, 3), Normal(2, 1), Normal(2, 4));
        Add("concat axis 0 [1, 3] [2, 3]", x => Ops.Concat(x, 0), Normal(1, 3), Normal(2, 3));
        Add("concat axis -1 [2, 2, 1] [2, 2, 3]", x => Ops.Concat(x, -1), Normal(2, 2, 1), Normal(2, 2, 3));
        Add("concat one input", x => Ops.Concat(x, 0), Normal(2, 3));
        Add("concat of a tensor with itself", x => Ops.Concat([x[0], Ops.Exp(x[0]), x[0]], 0), Normal(2, 3));
        Add("gather [5, 3] axis 0 [4, 0, 4, 2, 2]", x => Ops.Gather(x[0], 0, [4, 0, 4, 2, 2]), Normal(5, 3));
        Add("gather [2, 5, 3] axis 1 [1, 1, 3]", x => Ops.Gather(x[0], 1, [1, 1, 3]), Normal(2, 5, 3));
        Add("gather [2, 4] axis -1 [3, 3, 0, 3]", x => Ops.Gather(x[0], -1, [3, 3, 0, 3]), Normal(2, 4));
        Add("scatter-add [5, 3] axis 0 [1, 1, 0, 3, 1] to 4", x => Ops.ScatterAdd(x[0], 0, [1, 1, 0, 3, 1], 4), Normal(5, 3));
        Add("scatter-add [2, 3] axis 1 [2, 0, 2] to 3", x => Ops.ScatterAdd(x[0], 1, [2, 0, 2], 3), Normal(2, 3));
        Add("scatter-add [2, 3, 2] axis -2 [0, 4, 4] to 5", x => Ops.ScatterAdd(x[0], -2, [0, 4, 4], 5), Normal(2, 3, 2));

        // MatMul: every transpose flag, batch broadcasting both ways.
        int[][][] products =
        [
            [[3, 4], [4, 5]], [[2, 3, 4, 5], [5, 6]], [[3, 4], [2, 4, 5]], [[2, 3, 4], [2, 4, 5]],
            [[2, 1, 3, 4], [5, 4, 6]], [[1, 4], [4, 1]], [[16, 20], [20, 24]],
        ];
        foreach (var p in products)
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                {
                    var a = ta ? SwapLast(p[0]) : p[0];
                    var b = tb ? SwapLast(p[1]) : p[1];
                    Add($"matmul {Dims(a)}{(ta ? "ᵀ" : "")} · {Dims(b)}{(tb ? "ᵀ" : "")}",
                        x => Ops.MatMul(x[0], x[1], ta, tb), Uniform(-1, 1, a), Uniform(-1, 1, b));
                }
        Add("matmul of a tensor with itself", x => Ops.MatMul(x[0], x[0], transposeB: true), Uniform(-1, 1, 3, 4));

        // One operand a constant: the tangent rules see a null tangent on one side.
        Add("add constant [3, 1] + x [4]", x => Ops.Add(Constant(3, 1), x[0]), Normal(4));
        Add("mul x [2, 3] * constant [3]", x => Ops.Mul(x[0], Constant(3)), Normal(2, 3));
        Add("div constant [3, 4] / x [4]", x => Ops.Div(Constant(3, 4), x[0]), AwayFromZero(4));
        Add("where cond [3, 4], a constant [3, 4], b [4]", x => Ops.Where(Condition([1, 0, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1], 3, 4), Constant(3, 4), x[0]), Normal(4));
        Add("concat x [2, 3] with a constant [1, 3]", x => Ops.Concat([x[0], Constant(1, 3)], 0), Normal(2, 3));
        Add("matmul constant [4, 5] · x [5, 3]", x => Ops.MatMul(Constant(4, 5), x[0]), Uniform(-1, 1, 5, 3));
        // The weight's gradient added by the GEMM into the flat vector's cotangent (the destination path), with a
        // second use of the vector so that the window also receives a contribution by the ordinary path.
        Add("matmul of windows of a flat vector", x => Ops.Add(
                Ops.MatMul(Ops.Reshape(Ops.Slice(x[0], 0, 0, 8), 2, 4), Ops.Reshape(Ops.Slice(x[0], 0, 8, 12), 4, 3)),
                Ops.MatMul(Ops.Tanh(Constant(2, 3)), Ops.Reshape(Ops.Slice(x[0], 0, 11, 9), 3, 3), transposeB: true)),
            Uniform(-1, 1, 20));
        Add("matmul x [4, 5] · constant [5, 3]", x => Ops.MatMul(x[0], Constant(5, 3)), Uniform(-1, 1, 4, 5));
        Add("matmul constant [2, 3, 4] · x [4, 5]", x => Ops.MatMul(Constant(2, 3, 4), x[0]), Uniform(-1, 1, 4, 5));
        Add("matmul x [3, 4] · constant [2, 4, 5]", x => Ops.MatMul(x[0], Constant(2, 4, 5)), Uniform(-1, 1, 3, 4));

        // Size-1 axes, identity and empty selections.
        Add("identity", x => x[0], Normal(2, 3));
        Add("sum [2, 1, 3] axes [1]", x => Ops.Sum(x[0], [1]), Normal(2, 1, 3));
        Add("max [2, 1, 3] axes [1, 2] keepDims", x => Ops.Max(x[0], [1, 2], keepDims: true), Distinct(2, 1, 3));
        Add("permute [1, 3, 1, 2] (3, 2, 1, 0)", x => Ops.Permute(x[0], 3, 2, 1, 0), Normal(1, 3, 1, 2));
        Add("slice of length 0 next to a slice", x => Ops.Concat([Ops.Slice(x[0], 1, 2, 0), Ops.Slice(x[0], 1, 0, 2)], 1), Normal(2, 3));

        // Compositions the estimators rely on.
        Add("mlp layer", x => Ops.Tanh(Ops.Add(Ops.MatMul(x[0], x[1]), x[2])), Uniform(-1, 1, 4, 5), Uniform(-1, 1, 5, 3), Uniform(-1, 1, 3));
        Add("softmax cross-entropy", x =>
        {
            var onehot = Tensor<double>.FromArray([1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1], 4, 3);
            return Ops.Mean(Ops.Sub(Ops.LogSumExp(x[0], [1]), Ops.Sum(Ops.Mul(x[0], onehot), [1])));
        }, Uniform(-2, 2, 4, 3));
        Add("two-layer mlp loss", x =>
        {
            var h = Ops.Relu(Ops.Add(Ops.MatMul(x[0], x[1]), x[2]));
            var y = Ops.MatMul(h, x[3]);
            return Ops.Mean(Ops.Mul(y, y));
        }, Uniform(-1, 1, 6, 4), Uniform(-1, 1, 4, 5), Fixed([0.3, -0.4, 0.5, 0.25, -0.35], 5), Uniform(-1, 1, 5, 2));
        return cases;
    }

    // ---- inputs ----

    private static Generator Normal(params int[] dims) => rng => Tensor<double>.FromArray(Enumerable.Range(0, Count(dims)).Select(_ => GradCheck.Normal(rng)).ToArray(), dims);

    private static Generator Uniform(double lo, double hi, params int[] dims) => rng => Tensor<double>.FromArray(Uniform(rng, lo, hi, Count(dims)), dims);

    private static Generator Fixed(double[] values, params int[] dims) => _ => Tensor<double>.FromArray(values, dims);

    /// <summary>Uniform in [lo, hi] but at least <paramref name="margin"/> from every kink.</summary>
    private static Generator AwayFrom(double[] kinks, double margin, double lo, double hi, params int[] dims) => rng =>
    {
        var v = new double[Count(dims)];
        for (int i = 0; i < v.Length; i++)
            do v[i] = lo + (hi - lo) * rng.NextDouble();
            while (kinks.Any(k => Math.Abs(v[i] - k) < margin));
        return Tensor<double>.FromArray(v, dims);
    };

    /// <summary>Magnitudes in [0.5, 2] with random signs: safe denominators.</summary>
    private static Generator AwayFromZero(params int[] dims) => rng =>
        Tensor<double>.FromArray(Enumerable.Range(0, Count(dims)).Select(_ => (rng.Next(2) == 0 ? -1 : 1) * (0.5 + 1.5 * rng.NextDouble())).ToArray(), dims);

    /// <summary>Values at least 0.1 apart, so no two are tied for a maximum even after a finite-difference step.</summary>
    private static Generator Distinct(params int[] dims) => rng => Tensor<double>.FromArray(Distinct(rng, Count(dims)), dims);

    private static double[] Distinct(Random rng, int count)
    {
        var v = Enumerable.Range(0, count).Select(i => -1.0 + 0.2 * i + 0.05 * rng.NextDouble()).ToArray();
        rng.Shuffle(v);
        return v;
    }

    private static double[] Uniform(Random rng, double lo, double hi, int count)
        => Enumerable.Range(0, count).Select(_ => lo + (hi - lo) * rng.NextDouble()).ToArray();

    private static Tensor<double> Condition(double[] values, params int[] dims) => Tensor<double>.FromArray(values, dims);

    /// <summary>A fixed tensor that is not an input of the checked function: 0.1·(i mod 7) − 0.3 + 0.05·i/n.</summary>
    private static Tensor<double> Constant(params int[] dims)
    {
        int n = Count(dims);
        return Tensor<double>.FromArray(Enumerable.Range(0, n).Select(i => 0.1 * (i % 7) - 0.3 + 0.05 * i / n).ToArray(), dims);
    }

    private static Tensor<double> Zeros(params int[] dims) => Tensor<double>.Zeros(dims);

    private static int Count(int[] dims) => dims.Aggregate(1, (a, b) => a * b);

    private static int[] SwapLast(int[] dims)
    {
        var d = (int[])dims.Clone();
        (d[^1], d[^2]) = (d[^2], d[^1]);
        return d;
    }

    private static string Dims(int[] dims) => new Shape(dims).ToString();

    private static void AssertSame(double[] expected, Tensor<double> actual, string what)
    {
        var a = actual.ToArray();
        Assert.True(expected.Length == a.Length, $"{what}: {a.Length} values, expected {expected.Length}");
        for (int i = 0; i < a.Length; i++)
        {
            bool same = double.IsNaN(expected[i]) ? double.IsNaN(a[i]) : Math.Abs(a[i] - expected[i]) <= 1e-15 * Math.Abs(expected[i]) || a[i] == expected[i];
            Assert.True(same, $"{what}: element {i} is {a[i]}, expected {expected[i]}");
        }
    }

    private static void AssertError(Func<object> action, params string[] fragments)
    {
        var e = Assert.Throws<ArgumentException>(() => action());
        foreach (var fragment in fragments)
            Assert.True(e.Message.Contains(fragment, StringComparison.Ordinal), $"The message \"{e.Message}\" does not mention \"{fragment}\".");
    }
}
