using System.Globalization;
using System.Numerics;
using System.Text;
using Xunit.Sdk;

namespace Bilevel.Tensors.Tests;

/// <summary>
/// Checks the derivatives the engine computes for a function of several tensors against finite differences and
/// against each other, in the manner of JAX's <c>check_grads</c>:
/// <list type="bullet">
/// <item>(a) <b>jvp</b>: <see cref="Autodiff.Jvp{T}(Func{Tensor{T}[], Tensor{T}}, Tensor{T}[], Tensor{T}[])"/> along a
/// random direction equals a fourth-order central difference along it;</item>
/// <item>(b) <b>vjp</b>: ⟨u, Jᵀw⟩ = ⟨Ju, w⟩ for random u, w, with Ju both from central differences and from the JVP
/// (and for a scalar function, <see cref="Autodiff.Grad{T}"/> equals the VJP of 1);</item>
/// <item>(c) <b>hvp</b>: Jvp over Grad of the scalar g(x) = Σ w⊙f(x) + ½ Σ f(x)² gives, for every input at once,
/// the Hessian-vector product, equal to central differences of the gradients;</item>
/// <item>(d) <b>stacked</b>: JvpStacked with b = 3 tangents equals three separate Jvp calls (also over Grad, where
/// the three HVPs must be symmetric: ⟨v₁, Hv₂⟩ = ⟨v₂, Hv₁⟩).</item>
/// </list>
/// Directions are drawn from a fixed seed and scaled to max-norm 1 over all inputs, so an input that stays at least
/// 2·step away from a kink never crosses it. An element passes when
/// |actual − expected| ≤ relative · max(‖actual‖∞, ‖expected‖∞) + noise, where noise bounds the rounding error of the
/// finite difference (a few ulps of the function's magnitude divided by the step).
/// </summary>
internal static class GradCheck
{
    /// <summary>
    /// float64: a 4th-order central difference with step 1e-3 has truncation error ≈ h⁴/30·|f⁽⁵⁾| ≈ 3e-14 and rounding
    /// error ≈ 1.5·ε·|f|/h ≈ 3e-13 (relative), so 1e-8 leaves a wide margin and is well under JAX's 1e-5.
    /// </summary>
    public static readonly Settings Float64 = new(Relative: 1e-8, Step: 1e-3, Exact: 1e-12);

    /// <summary>float32: JAX's 2e-3; the step 1e-2 balances truncation (≈3e-10) against rounding (≈2e-5).</summary>
    public static readonly Settings Float32 = new(Relative: 2e-3, Step: 1e-2, Exact: 1e-5);

    private const int DefaultSeed = 20240611;
    private const int StackedCount = 3;

    /// <summary>
    /// Relative is the tolerance against finite differences; Step the finite-difference step; Exact the tolerance
    /// between two autodiff paths that compute the same numbers in a different order (stacked vs single tangents,
    /// the two sides of ⟨u, Jᵀw⟩ = ⟨Ju, w⟩).
    /// </summary>
    internal readonly record struct Settings(double Relative, double Step, double Exact);

    /// <summary>The largest relative error each check saw (error divided by the scale it was measured against).</summary>
    internal readonly record struct Report(double Jvp, double Vjp, double Hvp, double Stacked);

    public static Settings For<T>() where T : unmanaged, IFloatingPointIeee754<T>
        => typeof(T) == typeof(double) ? Float64 : Float32;

    /// <summary>Runs checks (a)–(d) at one point (one tensor per argument of <paramref name="f"/>).</summary>
    public static Report Check<T>(string name, Func<Tensor<T>[], Tensor<T>> f, params Tensor<T>[] inputs)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Check(name, f, inputs, DefaultSeed);

    public static Report Check<T>(string name, Func<Tensor<T>[], Tensor<T>> f, Tensor<T>[] inputs, int seed, Settings? settings = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(inputs);
        var point = new Point<T>(name, f, inputs, settings ?? For<T>(), new Random(seed));
        return new Report(point.CheckJvp(), point.CheckVjp(), point.CheckHvp(), point.CheckStacked());
    }

    public static Report CheckJvp<T>(string name, Func<Tensor<T>[], Tensor<T>> f, params Tensor<T>[] inputs)
        where T : unmanaged, IFloatingPointIeee754<T>
        => new(new Point<T>(name, f, inputs, For<T>(), new Random(DefaultSeed)).CheckJvp(), 0, 0, 0);

    public static Report CheckVjp<T>(string name, Func<Tensor<T>[], Tensor<T>> f, params Tensor<T>[] inputs)
        where T : unmanaged, IFloatingPointIeee754<T>
        => new(0, new Point<T>(name, f, inputs, For<T>(), new Random(DefaultSeed)).CheckVjp(), 0, 0);

    public static Report CheckHvp<T>(string name, Func<Tensor<T>[], Tensor<T>> f, params Tensor<T>[] inputs)
        where T : unmanaged, IFloatingPointIeee754<T>
        => new(0, 0, new Point<T>(name, f, inputs, For<T>(), new Random(DefaultSeed)).CheckHvp(), 0);

    public static Report CheckStacked<T>(string name, Func<Tensor<T>[], Tensor<T>> f, params Tensor<T>[] inputs)
        where T : unmanaged, IFloatingPointIeee754<T>
        => new(0, 0, 0, new Point<T>(name, f, inputs, For<T>(), new Random(DefaultSeed)).CheckStacked());

    /// <summary>A standard normal sample (Box–Muller), for directions and test data.</summary>
    public static double Normal(Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        double u1 = 1.0 - rng.NextDouble();
        double u2 = rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>One function at one point: the inputs held as doubles so that perturbations are exact before rounding to T.</summary>
    private sealed class Point<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly string name;
        private readonly Func<Tensor<T>[], Tensor<T>> f;
        private readonly Shape[] shapes;
        private readonly double[][] x;
        private readonly Settings settings;
        private readonly Random rng;
        private readonly Shape outputShape;
        private readonly double[] output;

        public Point(string name, Func<Tensor<T>[], Tensor<T>> f, Tensor<T>[] inputs, Settings settings, Random rng)
        {
            this.name = name;
            this.f = f;
            this.settings = settings;
            this.rng = rng;
            shapes = inputs.Select(t => t.Shape).ToArray();
            x = inputs.Select(t => ToDoubles(t)).ToArray();
            using var scope = TensorScope.Begin();
            var y = Guard("evaluate", () => f(Make(x)));
            outputShape = y.Shape;
            output = ToDoubles(y);
        }

        private static double Epsilon => double.CreateTruncating(T.BitIncrement(T.One) - T.One);

        /// <summary>(a) Jvp along a random direction vs a central difference; the Jvp's primal equals a plain evaluation.</summary>
        public double CheckJvp()
        {
            var v = Direction();
            double[] tangent, primal;
            using (TensorScope.Begin())
            {
                var (y, ty) = Guard("jvp", () => Autodiff.Jvp(f, Make(x), Make(v)));
                ExpectShape("jvp", "output tangent", ty.Shape, y.Shape);
                tangent = ToDoubles(ty);
                primal = ToDoubles(y);
            }
            Compare("jvp (primal value)", "value under Jvp", primal, "plain evaluation", output, settings.Exact, 0);
            var fd = CentralDifference(p => Evaluate(p), v, out double noise);
            return Compare("jvp", "autodiff Jvp", tangent, "central difference", fd, settings.Relative, noise);
        }

        /// <summary>(b) ⟨u, Jᵀw⟩ = ⟨Ju, w⟩, with Ju from the Jvp and from central differences.</summary>
        public double CheckVjp()
        {
            var u = Direction();
            var w = Normals(outputShape.Length);
            double lhs = 0, lhsScale = 0;
            double[][] cotangents;
            using (TensorScope.Begin())
            {
                var (_, cts) = Guard("vjp", () => Autodiff.Vjp(f, Make(x), Tensor<T>.FromSpan(ToT(w), outputShape)));
                if (cts.Length != shapes.Length)
                    Fail("vjp", $"Vjp returned {cts.Length} cotangents for {shapes.Length} inputs.");
                for (int j = 0; j < shapes.Length; j++)
                    ExpectShape("vjp", $"cotangent of input {j}", cts[j].Shape, shapes[j]);
                cotangents = cts.Select(t => ToDoubles(t)).ToArray();
            }
            for (int j = 0; j < shapes.Length; j++)
                for (int i = 0; i < u[j].Length; i++)
                {
                    lhs += u[j][i] * cotangents[j][i];
                    lhsScale += Math.Abs(u[j][i] * cotangents[j][i]);
                }

            double[] juAutodiff;
            using (TensorScope.Begin())
            {
                var (_, ty) = Guard("vjp (Jvp side)", () => Autodiff.Jvp(f, Make(x), Make(u)));
                juAutodiff = ToDoubles(ty);
            }
            var (rhsAd, rhsAdScale) = Dot(juAutodiff, w);
            CompareScalar("vjp: <u, J^T w> vs <Ju, w> with Ju from Jvp", lhs, rhsAd, settings.Exact * Math.Max(lhsScale, rhsAdScale));

            var juFd = CentralDifference(p => Evaluate(p), u, out double noise);
            var (rhsFd, rhsFdScale) = Dot(juFd, w);
            double noiseFd = noise * w.Sum(Math.Abs);
            double error = CompareScalar("vjp: <u, J^T w> vs <Ju, w> with Ju from central differences", lhs, rhsFd,
                settings.Relative * Math.Max(lhsScale, rhsFdScale) + noiseFd);

            if (outputShape.Length == 1)
            {
                // For a scalar f, Grad is the VJP of the cotangent 1.
                double[][] grads, ones;
                using (TensorScope.Begin())
                {
                    grads = Guard("grad", () => Autodiff.Grad(f, Make(x))).Select(t => ToDoubles(t)).ToArray();
                    ones = Guard("vjp of 1", () => Autodiff.Vjp(f, Make(x), Tensor<T>.Full(outputShape, T.One)).Cotangents).Select(t => ToDoubles(t)).ToArray();
                }
                Compare("grad vs vjp of 1", "Grad", Concat(grads), "Vjp(1)", Concat(ones), settings.Exact, 0);
            }
            return error;
        }

        /// <summary>(c) Jvp over Grad of g(x) = Σ w⊙f(x) + ½ Σ f(x)² vs central differences of Grad g.</summary>
        public double CheckHvp()
        {
            var w = Normals(outputShape.Length);
            var g = Scalarize(w);
            var v = Direction();
            double[] hv, gradUnderJvp, gradPlain;
            using (TensorScope.Begin())
            {
                var (grads, tangents) = Guard("hvp", () => Autodiff.Jvp(xs => Autodiff.Grad(g, xs), Make(x), Make(v)));
                for (int j = 0; j < shapes.Length; j++)
                {
                    ExpectShape("hvp", $"gradient of input {j}", grads[j].Shape, shapes[j]);
                    ExpectShape("hvp", $"Hessian-vector product of input {j}", tangents[j].Shape, shapes[j]);
                }
                hv = Concat(tangents.Select(t => ToDoubles(t)).ToArray());
                gradUnderJvp = Concat(grads.Select(t => ToDoubles(t)).ToArray());
            }
            gradPlain = Gradient(g, x);
            Compare("hvp (gradient under Jvp)", "Grad under Jvp", gradUnderJvp, "plain Grad", gradPlain, settings.Exact, 0);
            var fd = CentralDifference(p => Gradient(g, p), v, out double noise);
            return Compare("hvp", "Jvp over Grad", hv, "central difference of Grad", fd, settings.Relative, noise);
        }

        /// <summary>(d) JvpStacked with 3 tangents equals 3 Jvp calls, for f and for Grad of its scalarization.</summary>
        public double CheckStacked()
        {
            var directions = Enumerable.Range(0, StackedCount).Select(_ => Direction()).ToArray();
            double worst = 0;

            double[] stacked;
            using (TensorScope.Begin())
            {
                var (values, tangents) = Guard("stacked jvp", () => Autodiff.JvpStacked(xs => [f(xs)], Make(x), Stack(directions)));
                ExpectShape("stacked jvp", "output tangents", tangents[0].Shape, values[0].Shape.Prepend(StackedCount));
                stacked = ToDoubles(tangents[0]);
            }
            int n = outputShape.Length;
            for (int i = 0; i < StackedCount; i++)
            {
                double[] single;
                using (TensorScope.Begin())
                {
                    var (_, ty) = Guard("stacked jvp (single)", () => Autodiff.Jvp(f, Make(x), Make(directions[i])));
                    single = ToDoubles(ty);
                }
                worst = Math.Max(worst, Compare($"stacked jvp (tangent {i} of {StackedCount})", "JvpStacked", stacked.AsSpan(i * n, n).ToArray(), "Jvp", single, settings.Exact, 0));
            }

            var g = Scalarize(Normals(n));
            var hvps = new double[StackedCount][];
            using (TensorScope.Begin())
            {
                var (_, tangents) = Guard("stacked hvp", () => Autodiff.JvpStacked(xs => Autodiff.Grad(g, xs), Make(x), Stack(directions)));
                for (int i = 0; i < StackedCount; i++)
                    hvps[i] = Concat(tangents.Select((t, j) => ToDoubles(t).AsSpan(i * shapes[j].Length, shapes[j].Length).ToArray()).ToArray());
            }
            for (int i = 0; i < StackedCount; i++)
            {
                double[] single;
                using (TensorScope.Begin())
                {
                    var (_, tangents) = Guard("stacked hvp (single)", () => Autodiff.Jvp(xs => Autodiff.Grad(g, xs), Make(x), Make(directions[i])));
                    single = Concat(tangents.Select(t => ToDoubles(t)).ToArray());
                }
                worst = Math.Max(worst, Compare($"stacked hvp (tangent {i} of {StackedCount})", "JvpStacked over Grad", hvps[i], "Jvp over Grad", single, settings.Exact, 0));
            }
            // The Hessian is symmetric: ⟨v₀, Hv₁⟩ = ⟨v₁, Hv₀⟩ (and likewise for the other pairs).
            for (int a = 0; a < StackedCount; a++)
                for (int b = a + 1; b < StackedCount; b++)
                {
                    var (ab, abScale) = Dot(Concat(directions[a]), hvps[b]);
                    var (ba, baScale) = Dot(Concat(directions[b]), hvps[a]);
                    CompareScalar($"hvp symmetry: <v{a}, H v{b}> vs <v{b}, H v{a}>", ab, ba, settings.Exact * 10 * Math.Max(abScale, baScale));
                }
            return worst;
        }

        private Func<Tensor<T>[], Tensor<T>> Scalarize(double[] w)
        {
            var wt = ToT(w);
            var shape = outputShape;
            var half = T.CreateTruncating(0.5);
            return xs =>
            {
                // Flattened first, so that a scalar output goes through the same rank-1 reductions as any other.
                var y = Ops.Reshape(f(xs), [shape.Length]);
                var weights = Tensor<T>.FromSpan(wt, new Shape(shape.Length));
                return Ops.Add(Ops.Sum(Ops.Mul(y, weights)), Ops.Scale(Ops.Sum(Ops.Mul(y, y)), half));
            };
        }

        private double[] Evaluate(double[][] p)
        {
            using var scope = TensorScope.Begin();
            return ToDoubles(f(Make(p)));
        }

        private double[] Gradient(Func<Tensor<T>[], Tensor<T>> g, double[][] p)
        {
            using var scope = TensorScope.Begin();
            return Concat(Autodiff.Grad(g, Make(p)).Select(t => ToDoubles(t)).ToArray());
        }

        /// <summary>(−F(x+2hv) + 8F(x+hv) − 8F(x−hv) + F(x−2hv)) / 12h, and a bound on its rounding error.</summary>
        private double[] CentralDifference(Func<double[][], double[]> F, double[][] v, out double noise)
        {
            double h = settings.Step;
            var p2 = F(Shift(v, 2 * h));
            var p1 = F(Shift(v, h));
            var m1 = F(Shift(v, -h));
            var m2 = F(Shift(v, -2 * h));
            var d = new double[p1.Length];
            double magnitude = 0;
            for (int i = 0; i < d.Length; i++)
            {
                d[i] = (-p2[i] + 8 * p1[i] - 8 * m1[i] + m2[i]) / (12 * h);
                magnitude = Math.Max(magnitude, Math.Max(Math.Max(Math.Abs(p2[i]), Math.Abs(p1[i])), Math.Max(Math.Abs(m1[i]), Math.Abs(m2[i]))));
            }
            // Each evaluation is off by a few ulps of its magnitude; the stencil's weights sum to 18/12h.
            noise = 16 * Epsilon * magnitude * 18 / (12 * h);
            return d;
        }

        private double[][] Shift(double[][] v, double step)
            => x.Select((xi, j) => xi.Select((value, i) => value + step * v[j][i]).ToArray()).ToArray();

        /// <summary>A random direction over all inputs, scaled so that its largest entry is 1 in magnitude.</summary>
        private double[][] Direction()
        {
            var v = shapes.Select(s => Normals(s.Length)).ToArray();
            double max = v.SelectMany(a => a).Select(Math.Abs).DefaultIfEmpty(0).Max();
            if (max > 0)
                foreach (var a in v)
                    for (int i = 0; i < a.Length; i++) a[i] /= max;
            return v;
        }

        private double[] Normals(int count)
        {
            var a = new double[count];
            for (int i = 0; i < count; i++) a[i] = Normal(rng);
            return a;
        }

        private Tensor<T>[] Make(double[][] values) => values.Select((v, j) => Tensor<T>.FromSpan(ToT(v), shapes[j])).ToArray();

        private Tensor<T>[] Stack(double[][][] directions)
            => shapes.Select((s, j) => Tensor<T>.FromSpan(ToT(directions.SelectMany(d => d[j]).ToArray()), s.Prepend(directions.Length))).ToArray();

        private double Compare(string check, string actualLabel, double[] actual, string expectedLabel, double[] expected, double relative, double noise)
        {
            if (actual.Length != expected.Length)
                Fail(check, $"{actualLabel} has {actual.Length} elements but {expectedLabel} has {expected.Length}.");
            double scale = 0;
            for (int i = 0; i < actual.Length; i++) scale = Math.Max(scale, Math.Max(Math.Abs(actual[i]), Math.Abs(expected[i])));
            double allowed = relative * scale + noise;
            double worst = 0;
            for (int i = 0; i < actual.Length; i++)
            {
                double error = Math.Abs(actual[i] - expected[i]);
                bool bad = !(error <= allowed) && !(double.IsNaN(actual[i]) && double.IsNaN(expected[i])) && actual[i] != expected[i];
                if (bad)
                    Fail(check, string.Create(CultureInfo.InvariantCulture,
                        $"element {i} of {actual.Length}: {actualLabel} = {actual[i]:R} but {expectedLabel} = {expected[i]:R} (|difference| {error:G3} > allowed {allowed:G3} = {relative:G2}·max-norm {scale:G3} + noise {noise:G3})."));
                if (scale > 0) worst = Math.Max(worst, error / scale);
            }
            return worst;
        }

        private double CompareScalar(string check, double lhs, double rhs, double allowed)
        {
            double error = Math.Abs(lhs - rhs);
            if (!(error <= allowed))
                Fail(check, string.Create(CultureInfo.InvariantCulture, $"left side = {lhs:R} but right side = {rhs:R} (|difference| {error:G3} > allowed {allowed:G3})."));
            return Math.Max(Math.Abs(lhs), Math.Abs(rhs)) > 0 ? error / Math.Max(Math.Abs(lhs), Math.Abs(rhs)) : 0;
        }

        private void ExpectShape(string check, string what, Shape actual, Shape expected)
        {
            if (actual != expected) Fail(check, $"{what} has shape {actual}, expected {expected}.");
        }

        private TResult Guard<TResult>(string check, Func<TResult> body)
        {
            try
            {
                return body();
            }
            catch (Exception e) when (e is not XunitException)
            {
                throw new XunitException($"GradCheck [{check}] {name} threw {e.GetType().Name}: {e.Message}\n  {DescribeInputs()}", e);
            }
        }

        [System.Diagnostics.CodeAnalysis.DoesNotReturn]
        private void Fail(string check, string detail)
            => throw new XunitException($"GradCheck [{check}] {name} ({typeof(T).Name}): {detail}\n  {DescribeInputs()}");

        private string DescribeInputs()
        {
            var sb = new StringBuilder("at inputs ");
            for (int j = 0; j < shapes.Length; j++)
            {
                if (j > 0) sb.Append("; ");
                sb.Append(CultureInfo.InvariantCulture, $"x{j}{shapes[j]} = {{");
                int shown = Math.Min(8, x[j].Length);
                sb.AppendJoin(", ", x[j].Take(shown).Select(v => v.ToString("G6", CultureInfo.InvariantCulture)));
                if (x[j].Length > shown) sb.Append(CultureInfo.InvariantCulture, $", … ({x[j].Length} values)");
                sb.Append('}');
            }
            return sb.ToString();
        }

        private static (double Value, double Scale) Dot(double[] a, double[] b)
        {
            double sum = 0, scale = 0;
            for (int i = 0; i < a.Length; i++)
            {
                sum += a[i] * b[i];
                scale += Math.Abs(a[i] * b[i]);
            }
            return (sum, scale);
        }

        private static double[] Concat(double[][] parts) => parts.SelectMany(p => p).ToArray();

        private static double[] ToDoubles(Tensor<T> t)
        {
            var s = t.Span;
            var d = new double[s.Length];
            for (int i = 0; i < d.Length; i++) d[i] = double.CreateTruncating(s[i]);
            return d;
        }

        private static T[] ToT(double[] values)
        {
            var a = new T[values.Length];
            for (int i = 0; i < a.Length; i++) a[i] = T.CreateTruncating(values[i]);
            return a;
        }
    }
}
