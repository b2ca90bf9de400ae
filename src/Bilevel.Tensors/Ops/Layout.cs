using System.Numerics;
using Bilevel.Tensors.Internal;
using Bilevel.Tensors.Internal.Kernels;

namespace Bilevel.Tensors;

public static partial class Ops
{
    /// <summary>Same elements, another shape; one dimension may be −1 (inferred). Shares the buffer.</summary>
    public static Tensor<T> Reshape<T>(Tensor<T> x, params int[] dims) where T : unmanaged, IFloatingPointIeee754<T>
        => Reshape(x, InferShape(x.Shape, dims));

    public static Tensor<T> Reshape<T>(Tensor<T> x, Shape shape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (shape.Length != x.Length)
            throw new ArgumentException($"reshape: cannot view {x.Shape} ({x.Length} elements) as {shape} ({shape.Length} elements).", nameof(shape));
        if (shape == x.Shape) return x;
        var y = x.Alias(shape);
        return Derivatives.MarkWindow(Derivatives.Attach(y, [x],
            t => Reshape(t[0]!, shape.Prepend(t[0]!.Shape[0])),
            g => [Reshape(g, x.Shape)], "reshape"), 0);
    }

    /// <summary>A value equal to <paramref name="x"/> through which no derivative flows.</summary>
    public static Tensor<T> Detach<T>(Tensor<T> x) where T : unmanaged, IFloatingPointIeee754<T> => x.Alias(x.Shape);

    /// <summary>Reorders axes: output axis i is input axis <paramref name="permutation"/>[i].</summary>
    public static Tensor<T> Permute<T>(Tensor<T> x, params int[] permutation) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (permutation.Length != x.Rank || permutation.Order().Where((p, i) => p != i).Any())
            throw new ArgumentException($"permute: [{string.Join(", ", permutation)}] is not a permutation of the {x.Rank} axes of {x.Shape}.", nameof(permutation));
        var dims = new int[x.Rank];
        var inverse = new int[x.Rank];
        for (int i = 0; i < x.Rank; i++)
        {
            dims[i] = x.Shape[permutation[i]];
            inverse[permutation[i]] = i;
        }
        var y = Tensor<T>.Uninitialized(new Shape(dims));
        Permutation.Permute<T>(x.Span, x.Shape, permutation, y.Span);
        var shifted = new int[x.Rank + 1];
        for (int i = 0; i < x.Rank; i++) shifted[i + 1] = permutation[i] + 1;
        return Derivatives.Attach(y, [x], t => Permute(t[0]!, shifted), g => [Permute(g, inverse)], "permute");
    }

    /// <summary>Swaps the last two axes.</summary>
    public static Tensor<T> Transpose<T>(Tensor<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (x.Rank < 2) throw new ArgumentException($"transpose: needs at least 2 axes, got {x.Shape}.", nameof(x));
        var perm = Enumerable.Range(0, x.Rank).ToArray();
        (perm[^1], perm[^2]) = (perm[^2], perm[^1]);
        return Permute(x, perm);
    }

    /// <summary>Repeats size-1 (or missing leading) axes to <paramref name="shape"/>.</summary>
    public static Tensor<T> BroadcastTo<T>(Tensor<T> x, Shape shape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (Shape.Broadcast(x.Shape, shape, "broadcast-to") != shape)
            throw new ArgumentException($"broadcast-to: {x.Shape} cannot be broadcast to {shape}.", nameof(shape));
        if (x.Shape == shape) return x;
        var y = Tensor<T>.Uninitialized(shape);
        Broadcasting.Binary<T, CopyFirstKernel<T>>(x.Span, x.Shape, x.Span, x.Shape, y.Span, shape);
        return Derivatives.Attach(y, [x],
            t => BroadcastTo(Derivatives.Lift(t[0]!, shape.Rank), shape.Prepend(t[0]!.Shape[0])),
            g => [SumTo(g, x.Shape)], "broadcast-to");
    }

    /// <summary>Sums over the axes along which <paramref name="shape"/> would broadcast to x: the adjoint of BroadcastTo.</summary>
    public static Tensor<T> SumTo<T>(Tensor<T> x, Shape shape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (x.Shape == shape) return x;
        if (shape.Rank > x.Rank || Shape.Broadcast(shape, x.Shape, "sum-to") != x.Shape)
            throw new ArgumentException($"sum-to: {x.Shape} cannot be summed to {shape}.", nameof(shape));
        var padded = shape.PadTo(x.Rank);
        var reduced = new bool[x.Rank];
        for (int i = 0; i < x.Rank; i++) reduced[i] = padded[i] == 1 && x.Shape[i] != 1;
        var y = Tensor<T>.Uninitialized(shape);
        Reduction.Reduce<T, SumReduce<T>>(x.Span, x.Shape, reduced, y.Span);
        return Derivatives.Attach(y, [x],
            t => Reshape(SumTo(t[0]!, padded.Prepend(t[0]!.Shape[0])), shape.Prepend(t[0]!.Shape[0])),
            g => [BroadcastTo(g, x.Shape)], "sum-to");
    }

    /// <summary>Elements [start, start + length) along <paramref name="axis"/>.</summary>
    public static Tensor<T> Slice<T>(Tensor<T> x, int axis, int start, int length) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int a = x.Shape.Axis(axis, "slice");
        if (start < 0 || length < 0 || start + length > x.Shape[a])
            throw new ArgumentException($"slice: [{start}, {start + length}) is outside axis {axis} of {x.Shape}.", nameof(start));
        var dims = x.Shape.ToArray();
        dims[a] = length;
        var (outer, inner) = Blocks.Split(x.Shape, a);
        // A window along the leading non-trivial axis is contiguous: a view, not a copy (the blocks of a flat parameter
        // vector, which every model forward takes, and their tangents in a Hessian-vector product).
        Tensor<T> y;
        if (outer == 1)
        {
            y = x.View(start * inner, new Shape(dims));
        }
        else
        {
            y = Tensor<T>.Uninitialized(new Shape(dims));
            Blocks.CopyOut(x.Buffer, outer, x.Shape[a], inner, start, length, y.Buffer);
        }
        int size = x.Shape[a];
        y = Derivatives.Attach(y, x,
            t => Slice(t[0]!, a + 1, start, length),
            (g, full) =>
            {
                // The adjoint, Pad, added into the input's cotangent without materialising the padded tensor.
                Blocks.AddIn(g.Buffer, outer, size, inner, start, length, full.Buffer);
                if (g.Tangent is { } tg) Blocks.AddIn(tg.Buffer, tg.Shape[0] * outer, size, inner, start, length, full.Tangent!.Buffer);
            }, "slice");
        return outer == 1 ? Derivatives.MarkWindow(y, start * inner) : y;
    }

    /// <summary>Places x at [start, start + x.Shape[axis]) of a zero tensor whose axis has <paramref name="size"/> elements: the adjoint of Slice.</summary>
    public static Tensor<T> Pad<T>(Tensor<T> x, int axis, int start, int size) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int a = x.Shape.Axis(axis, "pad");
        int length = x.Shape[a];
        if (start < 0 || start + length > size)
            throw new ArgumentException($"pad: {length} elements at {start} do not fit an axis of {size} (operand {x.Shape}).", nameof(size));
        var dims = x.Shape.ToArray();
        dims[a] = size;
        var y = Tensor<T>.Zeros(new Shape(dims));
        var (outer, inner) = Blocks.Split(x.Shape, a);
        Blocks.CopyIn(x.Buffer, outer, size, inner, start, length, y.Buffer);
        return Derivatives.Attach(y, [x],
            t => Pad(t[0]!, a + 1, start, size),
            g => [Slice(g, a, start, length)], "pad");
    }

    /// <summary>Joins tensors along <paramref name="axis"/>; all other axes must agree.</summary>
    public static Tensor<T> Concat<T>(Tensor<T>[] xs, int axis) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (xs.Length == 0) throw new ArgumentException("concat: needs at least one tensor.", nameof(xs));
        var first = xs[0].Shape;
        int a = first.Axis(axis, "concat");
        int total = 0;
        foreach (var x in xs)
        {
            if (x.Rank != first.Rank || Enumerable.Range(0, first.Rank).Any(i => i != a && x.Shape[i] != first[i]))
                throw new ArgumentException($"concat: shape {x.Shape} does not match {first} outside axis {axis}.", nameof(xs));
            total += x.Shape[a];
        }
        var dims = first.ToArray();
        dims[a] = total;
        var y = Tensor<T>.Uninitialized(new Shape(dims));
        var offsets = new int[xs.Length];
        for (int i = 0, at = 0; i < xs.Length; at += xs[i].Shape[a], i++)
        {
            offsets[i] = at;
            var (outer, inner) = Blocks.Split(xs[i].Shape, a);
            Blocks.CopyIn(xs[i].Buffer, outer, total, inner, at, xs[i].Shape[a], y.Buffer);
        }
        return Derivatives.Attach(y, xs,
            t =>
            {
                int count = t.First(v => v is not null)!.Shape[0];
                return Concat(t.Select((v, i) => v ?? Derivatives.ZeroTangent<T>(xs[i].Shape, count)).ToArray(), a + 1);
            },
            g => xs.Select((x, i) => (Tensor<T>?)Slice(g, a, offsets[i], x.Shape[a])).ToArray(), "concat");
    }

    /// <summary>Selects the entries <paramref name="indices"/> along <paramref name="axis"/> (repeats allowed).</summary>
    public static Tensor<T> Gather<T>(Tensor<T> x, int axis, int[] indices) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int a = x.Shape.Axis(axis, "gather");
        int size = x.Shape[a];
        foreach (int i in indices)
            if ((uint)i >= (uint)size)
                throw new ArgumentException($"gather: index {i} is outside axis {axis} of {x.Shape}.", nameof(indices));
        var dims = x.Shape.ToArray();
        dims[a] = indices.Length;
        var y = Tensor<T>.Uninitialized(new Shape(dims));
        var (outer, inner) = Blocks.Split(x.Shape, a);
        var src = x.Span;
        var dst = y.Span;
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < indices.Length; j++)
                src.Slice((o * size + indices[j]) * inner, inner).CopyTo(dst.Slice((o * indices.Length + j) * inner, inner));
        return Derivatives.Attach(y, [x],
            t => Gather(t[0]!, a + 1, indices),
            g => [ScatterAdd(g, a, indices, size)], "gather");
    }

    /// <summary>Adds slice j of x along <paramref name="axis"/> into entry indices[j] of a zero tensor of <paramref name="size"/> entries: the adjoint of Gather.</summary>
    public static Tensor<T> ScatterAdd<T>(Tensor<T> x, int axis, int[] indices, int size) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int a = x.Shape.Axis(axis, "scatter-add");
        if (x.Shape[a] != indices.Length)
            throw new ArgumentException($"scatter-add: {indices.Length} indices for axis {axis} of {x.Shape}.", nameof(indices));
        foreach (int i in indices)
            if ((uint)i >= (uint)size)
                throw new ArgumentException($"scatter-add: index {i} is outside an axis of {size}.", nameof(indices));
        var dims = x.Shape.ToArray();
        dims[a] = size;
        var y = Tensor<T>.Zeros(new Shape(dims));
        var (outer, inner) = Blocks.Split(x.Shape, a);
        var src = x.Span;
        var dst = y.Span;
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < indices.Length; j++)
            {
                var d = dst.Slice((o * size + indices[j]) * inner, inner);
                System.Numerics.Tensors.TensorPrimitives.Add(d, src.Slice((o * indices.Length + j) * inner, inner), d);
            }
        return Derivatives.Attach(y, [x],
            t => ScatterAdd(t[0]!, a + 1, indices, size),
            g => [Gather(g, a, indices)], "scatter-add");
    }

    private static Shape InferShape(Shape from, int[] dims)
    {
        int unknown = Array.IndexOf(dims, -1);
        if (unknown < 0) return new Shape(dims);
        int known = 1;
        for (int i = 0; i < dims.Length; i++) if (i != unknown) known *= dims[i];
        if (known == 0 || from.Length % known != 0)
            throw new ArgumentException($"reshape: cannot infer −1 in [{string.Join(", ", dims)}] for {from}.", nameof(dims));
        var d = (int[])dims.Clone();
        d[unknown] = from.Length / known;
        return new Shape(d);
    }
}
