using System.Numerics;

namespace Bilevel.Tensors.Internal;

/// <summary>Computes an output tangent from the inputs' stacked tangents (null where an input has none).</summary>
internal delegate Tensor<T> PushForward<T>(Tensor<T>?[] inputTangents) where T : unmanaged, IFloatingPointIeee754<T>;

/// <summary>
/// The one place where a primitive's value meets its derivative rules: after the kernel computed <c>y</c>, attach
/// the output tangent (forward mode) and record the pullback (reverse mode) as the current mode asks.
/// </summary>
internal static class Derivatives
{
    public static Tensor<T> Attach<T>(Tensor<T> y, Tensor<T>[] inputs, PushForward<T> pushForward, Pullback<T> pullback, string op)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Attach(y, inputs, pushForward, pullback, null, op);

    /// <summary>As <see cref="Attach{T}(Tensor{T}, Tensor{T}[], PushForward{T}, Pullback{T}, string)"/> for an op of one input whose pullback adds into the input's cotangent in place.</summary>
    public static Tensor<T> Attach<T>(Tensor<T> y, Tensor<T> input, PushForward<T> pushForward, Scatter<T> scatter, string op, FreshCotangent<T>? fresh = null)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Attach(y, [input], pushForward, null, scatter, op, fresh);

    private static Tensor<T> Attach<T>(Tensor<T> y, Tensor<T>[] inputs, PushForward<T> pushForward, Pullback<T>? pullback, Scatter<T>? scatter, string op,
        FreshCotangent<T>? fresh = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (AutodiffMode.PropagatingTangents)
            AttachTangent(y, inputs, pushForward, op);
        if (AutodiffMode.Recording && Tape<T>.Current is { } tape && AnyTracked(tape, inputs))
            tape.Record(y, inputs, pullback, scatter, fresh);
        return y;
    }

    private static void AttachTangent<T>(Tensor<T> y, Tensor<T>[] inputs, PushForward<T> pushForward, string op)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int count = 0;
        Tensor<T>?[]? tangents = null;
        for (int i = 0; i < inputs.Length; i++)
        {
            if (inputs[i].Tangent is not { } t) continue;
            if (count != 0 && t.Shape[0] != count)
                throw new ArgumentException($"{op}: operands carry different numbers of tangents ({count} and {t.Shape[0]}).");
            count = t.Shape[0];
            tangents ??= new Tensor<T>?[inputs.Length];
            tangents[i] = t;
        }
        if (tangents is null) return;
        using (AutodiffMode.PlainArithmetic())
        {
            var ty = pushForward(tangents);
            // A tensor owns its tangent (disposing one disposes the other), so a rule that passes an input's tangent
            // through unchanged must hand the output its own alias of it.
            if (Array.IndexOf(tangents, ty) >= 0) ty = ty.Alias(ty.Shape);
            if (ty.Shape != y.Shape.Prepend(count))
                throw new InvalidOperationException($"{op}: tangent rule produced shape {ty.Shape}, expected {y.Shape.Prepend(count)} (engine bug).");
            y.Tangent = ty;
        }
    }

    private static bool AnyTracked<T>(Tape<T> tape, Tensor<T>[] inputs) where T : unmanaged, IFloatingPointIeee754<T>
    {
        foreach (var x in inputs)
            if (tape.Tracks(x)) return true;
        return false;
    }

    [ThreadStatic] private static bool[]? needed;

    /// <summary>
    /// Whether the pullback now running must produce the cotangent of its input <paramref name="index"/>. Inputs that
    /// are constants (data, labels, a layer's input batch) need none, and skipping them saves whole products, e.g.
    /// the weight-sized outer product of a MatMul whose matrix is data.
    /// </summary>
    public static bool Needs(int index) => needed is not { } n || n[index];

    internal static NeedScope Needing<T>(Tensor<T>[] inputs, Func<Tensor<T>, bool> tracked) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var previous = needed;
        var mask = new bool[inputs.Length];
        for (int i = 0; i < inputs.Length; i++) mask[i] = tracked(inputs[i]);
        needed = mask;
        return new NeedScope(previous);
    }

    internal readonly struct NeedScope(bool[]? previous) : IDisposable
    {
        public void Dispose() => needed = previous;
    }

    /// <summary>
    /// Where the pullback now running may add the cotangent of its input <paramref name="index"/> in place, carrying
    /// <paramref name="tangents"/> stacked tangents: a window of the cotangent buffer the tape owns for that input
    /// (or, through reshapes and leading-axis slices, for the tensor it is a window of); null where the pullback must
    /// return the cotangent instead. A pullback that used it returns null for that input. This spares the
    /// parameter-sized temporary of a weight's gradient (Xᵀ·G, and with a tangent one more) that would otherwise be
    /// made, then added into the flat parameter vector's cotangent, then dropped.
    /// </summary>
    public static CotangentWindow<T>? Destination<T>(int index, int tangents) where T : unmanaged, IFloatingPointIeee754<T>
        => Destinations<T>.Current?.Invoke(index, tangents);

    /// <summary>
    /// Whether anyone will read the values of the cotangent of input <paramref name="index"/> of the pullback now
    /// running; false when it is (a window of) an input of a Hessian-vector product, whose caller reads only the
    /// tangents (<see cref="Autodiff.HessianVectorProducts{T}"/>). The pullback may then hand on a cotangent whose
    /// values are zero and skip the product that makes them (a weight's or an image's gradient), keeping its tangents.
    /// </summary>
    public static bool ValuesWanted<T>(int index) where T : unmanaged, IFloatingPointIeee754<T>
        => Destinations<T>.ValuesWanted?.Invoke(index) ?? true;

    /// <summary>Marks <paramref name="y"/>, just recorded, as a window of its input from element <paramref name="offset"/> on.</summary>
    public static Tensor<T> MarkWindow<T>(Tensor<T> y, int offset) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (y.Node is { } node && Tape<T>.Current is { } tape && node.Tape == tape) node.WindowOffset = offset;
        return y;
    }


    /// <summary>
    /// Reshapes stacked tangents [b, ..s] to [b, 1.., ..s] of rank <paramref name="rank"/> + 1 so that they broadcast
    /// against primal operands of rank <paramref name="rank"/> by the ordinary rules.
    /// </summary>
    public static Tensor<T> Lift<T>(Tensor<T> tangent, int rank) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int primalRank = tangent.Rank - 1;
        if (primalRank >= rank) return tangent;
        var dims = new int[rank + 1];
        dims[0] = tangent.Shape[0];
        dims.AsSpan(1, rank - primalRank).Fill(1);
        tangent.Shape.Dims[1..].CopyTo(dims.AsSpan(1 + rank - primalRank));
        return Ops.Reshape(tangent, new Shape(dims));
    }

    /// <summary>Zero tangents [b, ..shape].</summary>
    public static Tensor<T> ZeroTangent<T>(Shape shape, int count) where T : unmanaged, IFloatingPointIeee754<T>
        => Tensor<T>.Zeros(shape.Prepend(count));
}

/// <summary>The tape's answer to <see cref="Derivatives.Destination{T}"/> for the pullback now running on this thread.</summary>
internal static class Destinations<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    [ThreadStatic] public static Func<int, int, CotangentWindow<T>?>? Current;

    /// <summary>The tape's answer to <see cref="Derivatives.ValuesWanted{T}"/> for the pullback now running on this thread.</summary>
    [ThreadStatic] public static Func<int, bool>? ValuesWanted;
}
