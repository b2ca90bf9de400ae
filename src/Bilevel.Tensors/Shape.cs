using System.Runtime.CompilerServices;

namespace Bilevel.Tensors;

/// <summary>The dimensions of a dense row-major tensor. Immutable; a rank-0 shape is a scalar.</summary>
public readonly struct Shape : IEquatable<Shape>
{
    private static readonly int[] ScalarDims = [];
    private readonly int[]? dims;

    public Shape(params int[] dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        long length = 1;
        foreach (int d in dims)
        {
            if (d < 0)
                throw new ArgumentException($"shape: dimension {d} in {Format(dims)} is negative.", nameof(dims));
            length *= d;
            if (length > int.MaxValue)
                throw new ArgumentException($"shape: {Format(dims)} has more than {int.MaxValue} elements.", nameof(dims));
        }
        this.dims = (int[])dims.Clone();
        Length = (int)length;
    }

    public static Shape Scalar => new(ScalarDims);

    public int Rank => Dims.Length;

    /// <summary>Number of elements.</summary>
    public int Length { get; }

    public ReadOnlySpan<int> Dims => dims ?? ScalarDims;

    public int this[int axis] => Dims[axis];

    /// <summary>Axis from the end (^1 is the last axis); without it ^1 would count from <see cref="Length"/>.</summary>
    public int this[Index axis] => Dims[axis];

    public int[] ToArray() => Dims.ToArray();

    /// <summary>Row-major strides in elements.</summary>
    public int[] Strides()
    {
        var strides = new int[Rank];
        int s = 1;
        for (int i = Rank - 1; i >= 0; i--)
        {
            strides[i] = s;
            s *= Dims[i];
        }
        return strides;
    }

    /// <summary>This shape with <paramref name="leading"/> placed in front: the shape of a batch of tangents.</summary>
    public Shape Prepend(int leading)
    {
        var d = new int[Rank + 1];
        d[0] = leading;
        Dims.CopyTo(d.AsSpan(1));
        return new Shape(d);
    }

    /// <summary>This shape without its first axis.</summary>
    public Shape DropFirst() => new(Dims[1..].ToArray());

    /// <summary>This shape left-padded with ones to <paramref name="rank"/>.</summary>
    public Shape PadTo(int rank)
    {
        if (rank <= Rank) return this;
        var d = new int[rank];
        d.AsSpan(0, rank - Rank).Fill(1);
        Dims.CopyTo(d.AsSpan(rank - Rank));
        return new Shape(d);
    }

    /// <summary>NumPy broadcasting of two shapes; throws naming <paramref name="op"/> and both shapes.</summary>
    public static Shape Broadcast(Shape a, Shape b, string op)
    {
        if (a.Equals(b)) return a;
        int rank = Math.Max(a.Rank, b.Rank);
        var d = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Rank ? 1 : a[i - (rank - a.Rank)];
            int db = i < rank - b.Rank ? 1 : b[i - (rank - b.Rank)];
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException($"{op}: shapes {a} and {b} cannot be broadcast together (axis {i}: {da} vs {db}).");
            d[i] = da == 1 ? db : da;
        }
        return new Shape(d);
    }

    /// <summary>Normalises a possibly negative axis; throws naming the op when out of range.</summary>
    public int Axis(int axis, string op)
    {
        int a = axis < 0 ? axis + Rank : axis;
        if (a < 0 || a >= Rank)
            throw new ArgumentException($"{op}: axis {axis} is out of range for shape {this}.");
        return a;
    }

    public bool Equals(Shape other) => Dims.SequenceEqual(other.Dims);

    public override bool Equals(object? obj) => obj is Shape s && Equals(s);

    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (int d in Dims) h.Add(d);
        return h.ToHashCode();
    }

    public static bool operator ==(Shape left, Shape right) => left.Equals(right);

    public static bool operator !=(Shape left, Shape right) => !left.Equals(right);

    public static implicit operator Shape(int[] dims) => new(dims);

    public override string ToString() => Format(Dims);

    private static string Format(ReadOnlySpan<int> dims)
    {
        var sb = new DefaultInterpolatedStringHandler(2, dims.Length);
        sb.AppendLiteral("[");
        for (int i = 0; i < dims.Length; i++)
        {
            if (i > 0) sb.AppendLiteral(", ");
            sb.AppendFormatted(dims[i]);
        }
        sb.AppendLiteral("]");
        return sb.ToStringAndClear();
    }
}
