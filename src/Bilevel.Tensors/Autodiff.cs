using System.Numerics;
using Bilevel.Tensors.Internal;

namespace Bilevel.Tensors;

/// <summary>
/// Reverse mode (<see cref="Grad{T}"/>, <see cref="ValueAndGrad{T}"/>, <see cref="Vjp{T}"/>), forward mode
/// (<see cref="Jvp{T}(Func{Tensor{T}[], Tensor{T}[]}, Tensor{T}[], Tensor{T}[])"/>, with several tangents stacked
/// along a leading axis in <see cref="JvpStacked{T}"/>), and their composition: Jvp over Grad gives the gradient and
/// Hessian-vector products over all inputs at once. Reverse over reverse is not supported.
/// </summary>
public static class Autodiff
{
    /// <summary>The gradient of a scalar function with respect to each input.</summary>
    public static Tensor<T>[] Grad<T>(Func<Tensor<T>[], Tensor<T>> f, params Tensor<T>[] inputs) where T : unmanaged, IFloatingPointIeee754<T>
        => ValueAndGrad(f, inputs).Gradients;

    public static (Tensor<T> Value, Tensor<T>[] Gradients) ValueAndGrad<T>(Func<Tensor<T>[], Tensor<T>> f, params Tensor<T>[] inputs)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Reverse(f, inputs, null);

    /// <summary>The value of f and the cotangents of the inputs for the output cotangent <paramref name="cotangent"/>.</summary>
    public static (Tensor<T> Value, Tensor<T>[] Cotangents) Vjp<T>(Func<Tensor<T>[], Tensor<T>> f, Tensor<T>[] inputs, Tensor<T> cotangent)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(cotangent);
        return Reverse(f, inputs, cotangent);
    }

    /// <summary>
    /// The values of f and the cotangents of the inputs for one cotangent per output: the gradient of
    /// Σᵢ⟨fᵢ(x), cotangentsᵢ⟩ without forming the products and their sum (a state of several tensors pulled back at once).
    /// </summary>
    public static (Tensor<T>[] Values, Tensor<T>[] Cotangents) Vjp<T>(Func<Tensor<T>[], Tensor<T>[]> f, Tensor<T>[] inputs, Tensor<T>[] cotangents)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(cotangents);
        return Reverse(f, inputs, cotangents, leafValuesWanted: true);
    }

    /// <summary>
    /// Several vector-Jacobian products of one evaluation of f: f runs once, then each set of cotangents that
    /// <paramref name="cotangents"/> yields for its values (one per output) is pulled back to the inputs and handed to
    /// <paramref name="consume"/>, whose tensors are released when it returns. What PyTorch's <c>retain_graph</c> does:
    /// a pass costs one backward pass, not a forward pass and a backward pass as a <see cref="Vjp{T}(Func{Tensor{T}[], Tensor{T}[]}, Tensor{T}[], Tensor{T}[])"/>
    /// per set would (KFAC's exact Fisher takes one pass per class).
    /// </summary>
    /// <returns>The values of f.</returns>
    public static Tensor<T>[] VjpEach<T>(Func<Tensor<T>[], Tensor<T>[]> f, Tensor<T>[] inputs, Func<Tensor<T>[], IEnumerable<Tensor<T>[]>> cotangents,
        Action<Tensor<T>[]> consume)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(cotangents);
        ArgumentNullException.ThrowIfNull(consume);
        var tape = Tape<T>.Open();
        try
        {
            var leaves = inputs.Select(tape.Leaf).ToArray();
            var y = f(leaves);
            using var passes = cotangents(y).GetEnumerator();
            while (true)
            {
                // A pass's seeds (made as the enumeration moves on), its cotangents and its temporaries go with it.
                using var pass = TensorScope.Begin();
                if (!passes.MoveNext()) return y;
                CheckCotangents(y, passes.Current);
                tape.Backward(y, passes.Current);
                consume(leaves.Select((l, i) => l.Node!.TakeCotangent() ?? Tensor<T>.Zeros(inputs[i].Shape)).ToArray());
            }
        }
        finally
        {
            tape.Close();
        }
    }

    /// <summary>
    /// Hessian-vector products of a scalar function, one per input: Σᵢ ∂²f/∂x_j∂x_i · tangents[i] for input j, by one
    /// forward-over-reverse pass (Jvp over Grad). The gradient itself is not returned, so the products only it needs
    /// are skipped: a weight's Xᵀ·G, one GEMM per layer, when the weight is (a window of) an input.
    /// </summary>
    public static Tensor<T>[] HessianVectorProducts<T>(Func<Tensor<T>[], Tensor<T>> f, Tensor<T>[] primals, Tensor<T>[] tangents)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(f);
        return Jvp(p => Reverse(f, p, null, leafValuesWanted: false).Cotangents, primals, tangents).Tangents;
    }

    /// <summary>
    /// Whether f's output is computed from <paramref name="input"/>: a question about the computation's structure (an
    /// output that merely has a zero derivative still depends), answered by recording f once.
    /// </summary>
    public static bool DependsOn<T>(Func<Tensor<T>, Tensor<T>> f, Tensor<T> input) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(input);
        var tape = Tape<T>.Open();
        try
        {
            return tape.Tracks(f(tape.Leaf(input)));
        }
        finally
        {
            tape.Close();
        }
    }

    /// <summary>
    /// Whether derivatives with respect to <paramref name="x"/> are being taken now: it carries tangents (forward
    /// mode), or the tape recording on this thread tracks it (reverse mode). A function that computes its value
    /// outside the engine (a black-box solver) checks this to refuse, where returning a constant would read as a zero
    /// derivative.
    /// </summary>
    public static bool IsDifferentiated<T>(Tensor<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(x);
        return x.Tangent is not null || (AutodiffMode.Recording && Tape<T>.Current is { } tape && tape.Tracks(x));
    }

    /// <summary>Values of f and their directional derivatives along one tangent per input (same shapes as the inputs).</summary>
    public static (Tensor<T>[] Values, Tensor<T>[] Tangents) Jvp<T>(Func<Tensor<T>[], Tensor<T>[]> f, Tensor<T>[] primals, Tensor<T>[] tangents)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckPairs(primals, tangents, stacked: false);
        var stacked = tangents.Select(t => Ops.Reshape(t, t.Shape.Prepend(1))).ToArray();
        var (values, outTangents) = JvpStacked(f, primals, stacked);
        return (values, outTangents.Select(t => Ops.Reshape(t, t.Shape.DropFirst())).ToArray());
    }

    public static (Tensor<T> Value, Tensor<T> Tangent) Jvp<T>(Func<Tensor<T>[], Tensor<T>> f, Tensor<T>[] primals, Tensor<T>[] tangents)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (values, outTangents) = Jvp(x => [f(x)], primals, tangents);
        return (values[0], outTangents[0]);
    }

    /// <summary>
    /// Forward mode with b directions at once: tangent i of input j is tangents[j][i] (shape [b, ..inputs[j].Shape]).
    /// One evaluation of f carries all b directions, so the matrix work of the directions is batched.
    /// </summary>
    public static (Tensor<T>[] Values, Tensor<T>[] Tangents) JvpStacked<T>(Func<Tensor<T>[], Tensor<T>[]> f, Tensor<T>[] primals, Tensor<T>[] tangents)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckPairs(primals, tangents, stacked: true);
        int count = tangents.Length == 0 ? 0 : tangents[0].Shape[0];
        var inputs = new Tensor<T>[primals.Length];
        for (int i = 0; i < primals.Length; i++)
        {
            if (primals[i].Tangent is not null)
                throw new NotSupportedException("jvp: forward mode inside forward mode is not supported (the input already carries tangents).");
            inputs[i] = primals[i].Alias(primals[i].Shape);
            inputs[i].Tangent = tangents[i].Alias(tangents[i].Shape);
        }
        var values = f(inputs);
        var outTangents = values.Select(v => v.Tangent ?? Derivatives.ZeroTangent<T>(v.Shape, count)).ToArray();
        return (values, outTangents);
    }

    /// <summary>A new tensor object over x's buffer carrying (aliases of) x's tangents but none of its tape history.</summary>
    internal static Tensor<T> AliasWithTangent<T>(Tensor<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var y = x.Alias(x.Shape);
        if (x.Tangent is { } t) y.Tangent = t.Alias(t.Shape);
        return y;
    }

    private static (Tensor<T> Value, Tensor<T>[] Cotangents) Reverse<T>(Func<Tensor<T>[], Tensor<T>> f, Tensor<T>[] inputs, Tensor<T>? cotangent,
        bool leafValuesWanted = true)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(f);
        var (values, gradients) = Reverse(x =>
        {
            var y = f(x);
            if (cotangent is null && y.Length != 1)
                throw new ArgumentException($"grad: the function must return one value, got shape {y.Shape}; use Vjp with a cotangent.", nameof(f));
            return [y];
        }, inputs, cotangent is null ? null : [cotangent], leafValuesWanted);
        return (values[0], gradients);
    }

    /// <summary>Reverse mode from several outputs; null seeds mean one output seeded with ones (a gradient).</summary>
    private static (Tensor<T>[] Values, Tensor<T>[] Cotangents) Reverse<T>(Func<Tensor<T>[], Tensor<T>[]> f, Tensor<T>[] inputs, Tensor<T>[]? cotangents,
        bool leafValuesWanted)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(inputs);
        var tape = Tape<T>.Open(leafValuesWanted);
        try
        {
            var leaves = inputs.Select(tape.Leaf).ToArray();
            var y = f(leaves);
            if (cotangents is not null) CheckCotangents(y, cotangents);
            tape.Backward(y, cotangents ?? [Tensor<T>.Full(y[0].Shape, T.One)]);
            var gradients = leaves.Select((l, i) => l.Node!.Cotangent ?? Tensor<T>.Zeros(inputs[i].Shape)).ToArray();
            return (y, gradients);
        }
        finally
        {
            tape.Close();
        }
    }

    private static void CheckCotangents<T>(Tensor<T>[] y, Tensor<T>[] cotangents) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(cotangents);
        if (cotangents.Length != y.Length)
            throw new ArgumentException($"vjp: {cotangents.Length} cotangents for {y.Length} outputs.", nameof(cotangents));
        for (int i = 0; i < y.Length; i++)
            if (cotangents[i].Shape != y[i].Shape)
                throw new ArgumentException($"vjp: cotangent {(y.Length == 1 ? "" : $"{i} ")}shape {cotangents[i].Shape} differs from the output shape {y[i].Shape}.", nameof(cotangents));
    }

    private static void CheckPairs<T>(Tensor<T>[] primals, Tensor<T>[] tangents, bool stacked) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(primals);
        ArgumentNullException.ThrowIfNull(tangents);
        if (primals.Length != tangents.Length)
            throw new ArgumentException($"jvp: {primals.Length} inputs but {tangents.Length} tangents.", nameof(tangents));
        for (int i = 0; i < primals.Length; i++)
        {
            var expected = stacked ? primals[i].Shape.Prepend(tangents[i].Rank > 0 ? tangents[i].Shape[0] : -1) : primals[i].Shape;
            if (tangents[i].Shape != expected || (stacked && tangents[i].Shape[0] != tangents[0].Shape[0]))
                throw new ArgumentException($"jvp: tangent {i} has shape {tangents[i].Shape}, expected {(stacked ? $"[b, ..{primals[i].Shape}] with the same b for every input" : primals[i].Shape.ToString())}.", nameof(tangents));
        }
    }
}
