using System.Numerics;

namespace Bilevel.Tensors.Internal;

/// <summary>
/// The ops recorded while a function runs under <see cref="Autodiff"/>'s reverse mode, in execution order.
/// The backward pass runs the pullbacks in reverse; they are written with the engine's own ops, so when the values
/// carry tangents the cotangents carry tangents too (forward-over-reverse).
/// </summary>
internal sealed class Tape<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    [ThreadStatic] private static Tape<T>? current;

    private readonly List<Node<T>> nodes = [];

    public static Tape<T>? Current => current;

    /// <param name="leafValuesWanted">
    /// False when the caller will read only the tangents of the inputs' cotangents (a Hessian-vector product), so that
    /// pullbacks writing into an input's cotangent may skip its values.
    /// </param>
    public static Tape<T> Open(bool leafValuesWanted = true)
    {
        if (current is not null)
            throw new NotSupportedException("autodiff: reverse mode inside reverse mode is not supported; take second-order products with Jvp over Grad (forward-over-reverse).");
        return current = new Tape<T>(leafValuesWanted);
    }

    private readonly bool leafValuesWanted;

    public void Close()
    {
        if (current == this) current = null;
    }

    public bool Tracks(Tensor<T> t) => t.Node is { } n && n.Tape == this;

    public Tensor<T> Leaf(Tensor<T> input)
    {
        var alias = Autodiff.AliasWithTangent(input);
        alias.Node = new Node<T>(this, [], null);
        return alias;
    }

    public void Record(Tensor<T> output, Tensor<T>[] inputs, Pullback<T>? pullback, Scatter<T>? scatter = null, FreshCotangent<T>? fresh = null)
    {
        var node = new Node<T>(this, inputs, pullback, scatter, fresh);
        output.Node = node;
        nodes.Add(node);
    }

    /// <summary>
    /// Propagates <paramref name="seeds"/>[i] from <paramref name="outputs"/>[i] back through every recorded op. The
    /// seeds enter as aliases, so the caller's tensors are never released or written; an output listed twice, or one
    /// that another output was computed from, gets the sum of what reaches it.
    /// </summary>
    /// <remarks>
    /// Each pullback runs in a scope of its own that keeps only the contributions it hands on, and a node's
    /// cotangent is released once its pullback has run: the backward pass holds the cotangents still to be consumed,
    /// not every temporary it ever made, so a gradient (or, forward-over-reverse, a Hessian-vector product) peaks
    /// near the forward pass's activations. For that, every node's cotangent is a tensor object of its own (an alias
    /// where a pullback hands on a tensor it did not create), so that releasing it drops exactly one reference.
    /// </remarks>
    public void Backward(Tensor<T>[] outputs, Tensor<T>[] seeds)
    {
        using var _ = AutodiffMode.NoRecording();
        using (var seeding = TensorScope.Begin())
        {
            for (int i = 0; i < outputs.Length; i++)
                if (Tracks(outputs[i])) Accumulate(outputs[i].Node!, Autodiff.AliasWithTangent(seeds[i]), seeding);
        }
        for (int i = nodes.Count - 1; i >= 0; i--)
        {
            var node = nodes[i];
            if (node.Cotangent is not { } g) continue;
            using (var step = TensorScope.Begin())
            {
                if (node.Scatter is { } scatter)
                {
                    if (Tracks(node.Inputs[0])) ScatterInto(node.Inputs[0], g, scatter, node.Fresh, step);
                }
                else
                {
                    Tensor<T>?[] inputCotangents;
                    (running, runningStep) = (node, step);
                    Destinations<T>.Current = destinationOfRunning;
                    Destinations<T>.ValuesWanted = valuesWantedOfRunning;
                    try
                    {
                        using (Derivatives.Needing(node.Inputs, Tracks))
                            inputCotangents = node.Pullback!(g);
                    }
                    finally
                    {
                        Destinations<T>.Current = null;
                        Destinations<T>.ValuesWanted = null;
                        (running, runningStep) = (null, null);
                    }
                    for (int j = 0; j < node.Inputs.Length; j++)
                        if (inputCotangents[j] is { } gj && Tracks(node.Inputs[j])) Accumulate(node.Inputs[j].Node!, gj, step);
                }
            }
            node.TakeCotangent();
            g.Dispose();
        }
    }

    /// <summary>The node whose pullback is running, and its scope: what <see cref="DestinationOfRunning"/> answers for.</summary>
    private Node<T>? running;
    private TensorScope? runningStep;

    /// <summary>One delegate per tape, not one per pullback.</summary>
    private readonly Func<int, int, CotangentWindow<T>?> destinationOfRunning;
    private readonly Func<int, bool> valuesWantedOfRunning;

    private Tape(bool leafValuesWanted)
    {
        this.leafValuesWanted = leafValuesWanted;
        destinationOfRunning = DestinationOfRunning;
        valuesWantedOfRunning = ValuesWantedOfRunning;
    }

    /// <summary>
    /// The tensor that input <paramref name="index"/> of the running pullback is a window of (following reshapes and
    /// leading-axis slices), and the window's offset in it.
    /// </summary>
    private (Tensor<T> Root, int Offset) WindowRoot(int index)
    {
        var target = running!.Inputs[index];
        int offset = 0;
        while (target.Node!.WindowOffset is { } o && Tracks(target.Node.Inputs[0]))
        {
            offset += o;
            target = target.Node.Inputs[0];
        }
        return (target, offset);
    }

    /// <summary>
    /// False when input <paramref name="index"/> of the running pullback is a window of an input of the differentiated
    /// function whose cotangent's values the caller will not read (see <see cref="Derivatives.ValuesWanted{T}"/>).
    /// </summary>
    private bool ValuesWantedOfRunning(int index)
        => leafValuesWanted || running is null || !Tracks(running.Inputs[index]) || !WindowRoot(index).Root.Node!.IsLeaf;

    /// <summary>
    /// The window of an owned cotangent buffer that input <paramref name="index"/>'s cotangent is (see
    /// <see cref="Derivatives.Destination{T}"/>): following windows (reshapes, leading-axis slices) down to the tensor
    /// they view, whose cotangent the tape takes ownership of. Adding into it is what the windows' own pullbacks
    /// would do later, so other contributions to the windows still arrive by the ordinary path.
    /// </summary>
    private CotangentWindow<T>? DestinationOfRunning(int index, int tangents)
    {
        if (running is null || runningStep is null) return null;
        var input = running.Inputs[index];
        if (!Tracks(input)) return null;
        var (target, offset) = WindowRoot(index);
        var root = target.Node!;
        if (tangents > 0 && root.Cotangent?.TangentCount is > 0 and var count && count != tangents) return null;
        if (!root.OwnsCotangent) TakeOwnership(root, target.Shape, tangents);
        CotangentBuffers<T>.EnsureTangent(root.Cotangent!, tangents);
        runningStep.Keep(root.Cotangent!);
        return new CotangentWindow<T>(root.Cotangent!, offset, input.Length, tangents);
    }

    /// <summary>
    /// Adds a contribution to a node's cotangent. Consumers run before producers, so a node's cotangent is complete
    /// (and only then handed to its pullback) by the time the backward pass reaches it: until then the tape may add
    /// into a buffer it owns in place.
    /// </summary>
    private static void Accumulate(Node<T> target, Tensor<T> g, TensorScope step)
    {
        if (target.Cotangent is null)
        {
            // A tensor this pullback made is handed on as it is; anything else (its own cotangent passed through, a
            // forward value) through an alias, so that no two nodes share a tensor object.
            target.Cotangent = step.Keep(step.Owns(g) ? g : Autodiff.AliasWithTangent(g));
            return;
        }
        if (!target.OwnsCotangent) TakeOwnership(target, target.Cotangent.Shape, g.TangentCount);
        CotangentBuffers<T>.AddInto(target.Cotangent!, g);
        step.Keep(target.Cotangent!);
    }

    private static void ScatterInto(Tensor<T> input, Tensor<T> g, Scatter<T> scatter, FreshCotangent<T>? fresh, TensorScope step)
    {
        var target = input.Node!;
        if (target.Cotangent is null && fresh is not null)
        {
            target.Cotangent = step.Keep(fresh(g));
            target.OwnsCotangent = true;
            return;
        }
        if (!target.OwnsCotangent) TakeOwnership(target, input.Shape, g.TangentCount);
        CotangentBuffers<T>.EnsureTangent(target.Cotangent!, g.TangentCount);
        scatter(g, target.Cotangent!);
        step.Keep(target.Cotangent!);
    }

    /// <summary>Replaces the node's cotangent by a buffer the tape owns (a copy; zeros when it had none).</summary>
    private static void TakeOwnership(Node<T> target, Shape shape, int tangents)
    {
        var previous = target.Cotangent;
        target.Cotangent = CotangentBuffers<T>.Own(previous, shape, tangents);
        target.OwnsCotangent = true;
        previous?.Dispose();
    }
}
