using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Bilevel.Tasks.Data.Internal;

namespace Bilevel.Tasks.Data;

/// <summary>
/// Reads and writes the IDX format of MNIST and Fashion-MNIST (<c>train-images-idx3-ubyte</c> and friends): a magic
/// number <c>00 00 type rank</c>, <c>rank</c> big-endian 32-bit dimensions, then the values, big-endian. Files that
/// start with the gzip magic are decompressed transparently whatever their name; a name ending in <c>.gz</c> is
/// written gzip-compressed. Writes go to a temporary file renamed into place.
/// </summary>
public static class IdxFile
{
    internal const string Expected =
        "an IDX file: magic 00 00 <type> <rank> (type 08 ubyte, 09 sbyte, 0B int16, 0C int32, 0D float32, 0E float64), " +
        "<rank> big-endian 32-bit dimensions, then the values big-endian";

    /// <summary>Reads the IDX file at <paramref name="path"/> (gzip or not).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DataFormatException">The file is not IDX, is truncated, or is longer than its dimensions say.</exception>
    public static IdxArray Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        using var stream = DataFiles.OpenRead(full, Expected, out long stored, out bool compressed);
        return Read(stream, full, compressed ? null : stored, compressed ? stored : null);
    }

    /// <summary>Reads <paramref name="relativePath"/> under <paramref name="root"/>.</summary>
    public static IdxArray Read(DataRoot root, string relativePath)
    {
        ArgumentNullException.ThrowIfNull(root);
        return Read(root.Resolve(relativePath));
    }

    /// <summary>Writes <paramref name="array"/> to <paramref name="path"/>, gzip-compressed when the name ends in <c>.gz</c>.</summary>
    public static void Write(string path, IdxArray array)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(array);
        DataFiles.WriteAtomically(path, stream => Write(stream, array));
    }

    /// <summary>Writes <paramref name="relativePath"/> under <paramref name="root"/>, creating its folder.</summary>
    public static void Write(DataRoot root, string relativePath, IdxArray array)
    {
        ArgumentNullException.ThrowIfNull(root);
        Write(root.ResolveForWrite(relativePath), array);
    }

    /// <summary>Writes the IDX encoding of <paramref name="array"/> to <paramref name="stream"/>.</summary>
    public static void Write(Stream stream, IdxArray array)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(array);
        var dims = array.Dimensions;
        var header = new byte[4 + 4 * dims.Count];
        header[2] = (byte)array.ElementType;
        header[3] = (byte)dims.Count;
        for (int i = 0; i < dims.Count; i++) BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * i), dims[i]);
        stream.Write(header);

        int size = IdxArray.SizeOf(array.ElementType);
        ReadOnlySpan<byte> data = BytesOf(array.Values, size);
        if (size == 1 || !BitConverter.IsLittleEndian)
        {
            stream.Write(data);
            return;
        }
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            for (int offset = 0; offset < data.Length; offset += buffer.Length)
            {
                int n = Math.Min(buffer.Length, data.Length - offset);
                var chunk = buffer.AsSpan(0, n);
                data.Slice(offset, n).CopyTo(chunk);
                ReverseEndianness(chunk, size);
                stream.Write(chunk);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Reads an image file and its label file (the MNIST pair) into <see cref="LabeledImages"/>. Images are
    /// [count, rows, columns] (one channel) or [count, channels, rows, columns]; ubyte pixels are scaled by 1/255,
    /// float32/float64 pixels are taken as they are. Labels are [count] of ubyte, sbyte, int16 or int32, non-negative.
    /// </summary>
    public static LabeledImages ReadLabeledImages(string imagesPath, string labelsPath)
    {
        var images = Read(imagesPath);
        var labels = Read(labelsPath);
        string imagesFile = Path.GetFullPath(imagesPath), labelsFile = Path.GetFullPath(labelsPath);

        var d = images.Dimensions;
        if (d.Count is not (3 or 4))
            throw new DataFormatException(imagesFile, $"images of dimensions [{IdxArray.Format(d)}]; expected [count, rows, columns] or [count, channels, rows, columns]");
        int count = d[0];
        int channels = d.Count == 4 ? d[1] : 1;
        int height = d[^2], width = d[^1];
        var pixels = images.ElementType switch
        {
            IdxElementType.UnsignedByte => PixelCodec.FromBytes(images.GetValues<byte>()),
            IdxElementType.Single => (float[])images.GetValues<float>().Clone(),
            IdxElementType.Double => Array.ConvertAll(images.GetValues<double>(), v => (float)v),
            _ => throw new DataFormatException(imagesFile, $"images of element type {images.ElementType}; expected ubyte (0..255), float32 or float64 pixels"),
        };

        if (labels.Dimensions.Count != 1)
            throw new DataFormatException(labelsFile, $"labels of dimensions [{IdxArray.Format(labels.Dimensions)}]; expected [count]");
        if (labels.Length != count)
            throw new DataFormatException(labelsFile, $"{labels.Length} labels for the {count} images of {imagesFile}; expected one label per image");
        int[] labelValues = labels.ElementType switch
        {
            IdxElementType.UnsignedByte => Array.ConvertAll(labels.GetValues<byte>(), v => (int)v),
            IdxElementType.SignedByte => Array.ConvertAll(labels.GetValues<sbyte>(), v => (int)v),
            IdxElementType.Int16 => Array.ConvertAll(labels.GetValues<short>(), v => (int)v),
            IdxElementType.Int32 => (int[])labels.GetValues<int>().Clone(),
            _ => throw new DataFormatException(labelsFile, $"labels of element type {labels.ElementType}; expected an integer type (ubyte, sbyte, int16, int32)"),
        };
        int negative = Array.FindIndex(labelValues, v => v < 0);
        if (negative >= 0)
            throw new DataFormatException(labelsFile, $"label {negative} is {labelValues[negative]}; expected class indices ≥ 0");
        return new LabeledImages(count, channels, height, width, pixels, labelValues);
    }

    /// <summary>Reads an image/label pair named relative to <paramref name="root"/>.</summary>
    public static LabeledImages ReadLabeledImages(DataRoot root, string imagesPath, string labelsPath)
    {
        ArgumentNullException.ThrowIfNull(root);
        return ReadLabeledImages(root.Resolve(imagesPath), root.Resolve(labelsPath));
    }

    /// <summary>
    /// Writes <paramref name="data"/> as an MNIST-style pair: ubyte images [count, rows, columns] (or
    /// [count, channels, rows, columns] when there is more than one channel), pixels quantised as round(255·p), which
    /// must lie in [0, 1]; ubyte labels [count] when every label is below 256, int32 otherwise.
    /// </summary>
    public static void WriteLabeledImages(LabeledImages data, string imagesPath, string labelsPath)
    {
        ArgumentNullException.ThrowIfNull(data);
        var (images, labels) = ToIdx(data);
        Write(imagesPath, images);
        Write(labelsPath, labels);
    }

    internal static (IdxArray Images, IdxArray Labels) ToIdx(LabeledImages data)
    {
        int[] dims = data.Channels == 1 ? [data.Count, data.Height, data.Width] : [data.Count, data.Channels, data.Height, data.Width];
        var images = IdxArray.Create(PixelCodec.ToBytes(data.Pixels), dims);
        var labels = data.Labels.All(v => v <= byte.MaxValue)
            ? IdxArray.Create(Array.ConvertAll(data.Labels.ToArray(), v => (byte)v), data.Count)
            : IdxArray.Create(data.Labels.ToArray(), data.Count);
        return (images, labels);
    }

    /// <summary>
    /// Reads IDX from <paramref name="stream"/>. <paramref name="storedLength"/> is the byte count of an uncompressed
    /// source (checked against the header before anything is allocated); <paramref name="compressedLength"/> that of
    /// a gzip source (bounds what the header may promise).
    /// </summary>
    internal static IdxArray Read(Stream stream, string path, long? storedLength, long? compressedLength)
    {
        Span<byte> magic = stackalloc byte[4];
        int got = DataFiles.ReadFully(stream, magic, path);
        if (got < 4)
            throw new DataFormatException(path, $"truncated: {got} bytes where the 4-byte magic number should be; expected {Expected}");
        var type = (IdxElementType)magic[2];
        if (magic[0] != 0 || magic[1] != 0 || !Enum.IsDefined(type) || magic[3] == 0)
            throw new DataFormatException(path, $"bad magic number {magic[0]:X2} {magic[1]:X2} {magic[2]:X2} {magic[3]:X2}; expected {Expected} (rank ≥ 1)");

        int rank = magic[3];
        var dimBytes = new byte[4 * rank];
        got = DataFiles.ReadFully(stream, dimBytes, path);
        if (got < dimBytes.Length)
            throw new DataFormatException(path, $"truncated in the header: {rank} dimensions need {dimBytes.Length} bytes after the magic, found {got}");
        var dims = new int[rank];
        long count = 1;
        for (int i = 0; i < rank; i++)
        {
            uint raw = BinaryPrimitives.ReadUInt32BigEndian(dimBytes.AsSpan(4 * i));
            if (raw > int.MaxValue)
                throw new DataFormatException(path, $"dimension {i} is {raw}; expected at most {int.MaxValue}");
            dims[i] = (int)raw;
            count *= dims[i];
            if (count > Array.MaxLength)
                throw new DataFormatException(path, $"dimensions [{IdxArray.Format(dims.Take(i + 1))}…] hold more than {Array.MaxLength} values; expected an array that fits in memory");
        }

        int size = IdxArray.SizeOf(type);
        long dataBytes = count * size;
        string shape = $"dimensions [{IdxArray.Format(dims)}] of {type}";
        if (dataBytes > Array.MaxLength)
            throw new DataFormatException(path, $"{shape} take {dataBytes} bytes; expected at most {Array.MaxLength} in one file");
        long total = 4 + dimBytes.Length + dataBytes;
        if (storedLength is long stored)
        {
            if (stored < total)
                throw new DataFormatException(path, $"truncated: {shape} promise {dataBytes} data bytes ({total} bytes in all), the file has {stored}");
            if (stored > total)
                throw new DataFormatException(path, $"{stored - total} bytes beyond the {total} that {shape} promise; expected exactly {total} bytes (dimensions not matching the length)");
        }
        if (compressedLength is long compressed && dataBytes > compressed * DataFiles.MaxDeflateRatio + 1024)
            throw new DataFormatException(path, $"{shape} promise {dataBytes} data bytes, more than a {compressed}-byte gzip file can hold");

        var values = IdxArray.Allocate(type, (int)count);
        var bytes = BytesOf(values, size);
        got = DataFiles.ReadFully(stream, bytes, path);
        if (got < bytes.Length)
            throw new DataFormatException(path, $"truncated: {shape} promise {dataBytes} data bytes, the data ends after {got}");
        if (!DataFiles.AtEnd(stream, path))
            throw new DataFormatException(path, $"data continues past the {dataBytes} bytes that {shape} promise; expected the file to end there (dimensions not matching the length)");
        if (size > 1 && BitConverter.IsLittleEndian) ReverseEndianness(bytes, size);
        return IdxArray.Wrap(type, values, dims);
    }

    private static Span<byte> BytesOf(Array values, int size)
        => MemoryMarshal.CreateSpan(ref MemoryMarshal.GetArrayDataReference(values), values.Length * size);

    private static void ReverseEndianness(Span<byte> bytes, int size)
    {
        switch (size)
        {
            case 2:
                var s = MemoryMarshal.Cast<byte, short>(bytes);
                BinaryPrimitives.ReverseEndianness(s, s);
                break;
            case 4:
                var i = MemoryMarshal.Cast<byte, int>(bytes);
                BinaryPrimitives.ReverseEndianness(i, i);
                break;
            case 8:
                var l = MemoryMarshal.Cast<byte, long>(bytes);
                BinaryPrimitives.ReverseEndianness(l, l);
                break;
        }
    }
}
