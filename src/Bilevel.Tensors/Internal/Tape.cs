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

    public static Tape<T> Open()
    {
        if (current is not null)
            throw new NotSupportedException("autodiff: reverse mode inside reverse mode is not supported; take second-order products with Jvp over Grad (forward-over-reverse).");
        return current = new Tape<T>();
    }

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

    public void Record(Tensor<T> output, Tensor<T>[] inputs, Pullback<T>? pullback, Scatter<T>? scatter = null)
    {
        var node = new Node<T>(this, inputs, pullback, scatter);
        output.Node = node;
        nodes.Add(node);
    }

    /// <summary>Propagates <paramref name="seed"/> from <paramref name="output"/> back through every recorded op.</summary>
    public void Backward(Tensor<T> output, Tensor<T> seed)
    {
        if (!Tracks(output)) return;
        output.Node!.Cotangent = seed;
        using var _ = AutodiffMode.NoRecording();
        for (int i = nodes.Count - 1; i >= 0; i--)
        {
            var node = nodes[i];
            if (node.Cotangent is not { } g) continue;
            if (node.Scatter is { } scatter)
            {
                if (Tracks(node.Inputs[0])) ScatterInto(node.Inputs[0], g, scatter);
                continue;
            }
            Tensor<T>?[] inputCotangents;
            using (Derivatives.Needing(node.Inputs, Tracks))
                inputCotangents = node.Pullback!(g);
            for (int j = 0; j < node.Inputs.Length; j++)
                if (inputCotangents[j] is { } gj && Tracks(node.Inputs[j])) Accumulate(node.Inputs[j].Node!, gj);
        }
    }

    /// <summary>
    /// Adds a contribution to a node's cotangent. Consumers run before producers, so a node's cotangent is complete
    /// (and only then handed to its pullback) by the time the backward pass reaches it: until then the tape may add
    /// into a buffer it owns in place.
    /// </summary>
    private static void Accumulate(Node<T> target, Tensor<T> g)
    {
        if (target.Cotangent is not { } existing)
        {
            target.Cotangent = g;
            return;
        }
        if (!target.OwnsCotangent) TakeOwnership(target, existing.Shape, g.TangentCount);
        CotangentBuffers<T>.AddInto(target.Cotangent!, g);
    }

    private static void ScatterInto(Tensor<T> input, Tensor<T> g, Scatter<T> scatter)
    {
        var target = input.Node!;
        if (!target.OwnsCotangent) TakeOwnership(target, input.Shape, g.TangentCount);
        CotangentBuffers<T>.EnsureTangent(target.Cotangent!, g.TangentCount);
        scatter(g, target.Cotangent!);
    }

    private static void TakeOwnership(Node<T> target, Shape shape, int tangents)
    {
        target.Cotangent = CotangentBuffers<T>.Own(target.Cotangent, shape, tangents);
        target.OwnsCotangent = true;
    }
}
