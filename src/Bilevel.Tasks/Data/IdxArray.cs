using System.Globalization;

namespace Bilevel.Tasks.Data;

/// <summary>
/// The contents of one IDX file: an element type, the dimensions (outermost first) and the values in row-major order,
/// held as a <c>byte[]</c>, <c>sbyte[]</c>, <c>short[]</c>, <c>int[]</c>, <c>float[]</c> or <c>double[]</c> in host byte order.
/// Two arrays are equal when type, dimensions and every value are equal.
/// </summary>
public sealed class IdxArray : IEquatable<IdxArray>
{
    private readonly int[] dimensions;

    private IdxArray(IdxElementType elementType, Array values, int[] dimensions)
    {
        ArgumentNullException.ThrowIfNull(dimensions);
        if (dimensions.Length is 0 or > byte.MaxValue)
            throw new ArgumentException($"idx: an IDX array has 1 to 255 dimensions, not {dimensions.Length}.", nameof(dimensions));
        long count = 1;
        foreach (int d in dimensions)
        {
            if (d < 0) throw new ArgumentException($"idx: dimensions must be non-negative, got [{Format(dimensions)}].", nameof(dimensions));
            count *= d;
            if (count > Array.MaxLength) throw new ArgumentException($"idx: dimensions [{Format(dimensions)}] hold more than {Array.MaxLength} values.", nameof(dimensions));
        }
        if (values.Length != count)
            throw new ArgumentException($"idx: {values.Length} values do not fill dimensions [{Format(dimensions)}] ({count} values).", nameof(values));
        ElementType = elementType;
        Values = values;
        this.dimensions = (int[])dimensions.Clone();
    }

    public IdxElementType ElementType { get; }

    /// <summary>The dimensions, outermost first (for MNIST images: count, rows, columns).</summary>
    public IReadOnlyList<int> Dimensions => dimensions;

    /// <summary>The number of values (the product of the dimensions).</summary>
    public int Length => Values.Length;

    /// <summary>The values, row-major, as an array of the element type's .NET type.</summary>
    public Array Values { get; }

    /// <summary>An array of <typeparamref name="T"/> values (byte, sbyte, short, int, float or double; the array is not copied).</summary>
    public static IdxArray Create<T>(T[] values, params int[] dimensions) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(values);
        return new IdxArray(ElementTypeOf<T>(), values, dimensions);
    }

    /// <summary>The values as <typeparamref name="T"/>[] (not a copy); <typeparamref name="T"/> must match <see cref="ElementType"/>.</summary>
    public T[] GetValues<T>() where T : unmanaged
        => Values as T[] ?? throw new InvalidOperationException($"idx: the array holds {ElementType} values, not {typeof(T).Name}.");

    /// <summary>The size in bytes of one value of <paramref name="type"/>.</summary>
    public static int SizeOf(IdxElementType type) => type switch
    {
        IdxElementType.UnsignedByte or IdxElementType.SignedByte => 1,
        IdxElementType.Int16 => 2,
        IdxElementType.Int32 or IdxElementType.Single => 4,
        IdxElementType.Double => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "idx: unknown element type."),
    };

    internal static IdxElementType ElementTypeOf<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(byte)) return IdxElementType.UnsignedByte;
        if (typeof(T) == typeof(sbyte)) return IdxElementType.SignedByte;
        if (typeof(T) == typeof(short)) return IdxElementType.Int16;
        if (typeof(T) == typeof(int)) return IdxElementType.Int32;
        if (typeof(T) == typeof(float)) return IdxElementType.Single;
        if (typeof(T) == typeof(double)) return IdxElementType.Double;
        throw new NotSupportedException($"idx: IDX files hold byte, sbyte, short, int, float or double, not {typeof(T).Name}.");
    }

    internal static Array Allocate(IdxElementType type, int count) => type switch
    {
        IdxElementType.UnsignedByte => new byte[count],
        IdxElementType.SignedByte => new sbyte[count],
        IdxElementType.Int16 => new short[count],
        IdxElementType.Int32 => new int[count],
        IdxElementType.Single => new float[count],
        IdxElementType.Double => new double[count],
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "idx: unknown element type."),
    };

    internal static IdxArray Wrap(IdxElementType type, Array values, int[] dimensions) => new(type, values, dimensions);

    internal static string Format(IEnumerable<int> dimensions) => string.Join('×', dimensions.Select(d => d.ToString(CultureInfo.InvariantCulture)));

    public bool Equals(IdxArray? other)
    {
        if (other is null) return false;
        if (ReferenceEquals(this, other)) return true;
        if (ElementType != other.ElementType || !dimensions.AsSpan().SequenceEqual(other.dimensions)) return false;
        return ElementType switch
        {
            IdxElementType.UnsignedByte => ((byte[])Values).AsSpan().SequenceEqual((byte[])other.Values),
            IdxElementType.SignedByte => ((sbyte[])Values).AsSpan().SequenceEqual((sbyte[])other.Values),
            IdxElementType.Int16 => ((short[])Values).AsSpan().SequenceEqual((short[])other.Values),
            IdxElementType.Int32 => ((int[])Values).AsSpan().SequenceEqual((int[])other.Values),
            // Bitwise, so that NaN payloads and signed zeros count as written.
            IdxElementType.Single => System.Runtime.InteropServices.MemoryMarshal.AsBytes(((float[])Values).AsSpan())
                .SequenceEqual(System.Runtime.InteropServices.MemoryMarshal.AsBytes(((float[])other.Values).AsSpan())),
            IdxElementType.Double => System.Runtime.InteropServices.MemoryMarshal.AsBytes(((double[])Values).AsSpan())
                .SequenceEqual(System.Runtime.InteropServices.MemoryMarshal.AsBytes(((double[])other.Values).AsSpan())),
            _ => false,
        };
    }

    public override bool Equals(object? obj) => Equals(obj as IdxArray);

    public override int GetHashCode() => HashCode.Combine(ElementType, Length, dimensions.Length > 0 ? dimensions[0] : 0);

    public override string ToString() => $"IDX {ElementType} [{Format(dimensions)}]";
}
