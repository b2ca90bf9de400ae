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

    public void Record(Tensor<T> output, Tensor<T>[] inputs, Pullback<T> pullback)
    {
        var node = new Node<T>(this, inputs, pullback);
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
            Tensor<T>?[] inputCotangents;
            using (Derivatives.Needing(node.Inputs, Tracks))
                inputCotangents = node.Pullback!(g);
            for (int j = 0; j < node.Inputs.Length; j++)
            {
                if (inputCotangents[j] is not { } gj || !Tracks(node.Inputs[j])) continue;
                var target = node.Inputs[j].Node!;
                target.Cotangent = target.Cotangent is null ? gj : Ops.Add(target.Cotangent, gj);
            }
        }
    }
}
