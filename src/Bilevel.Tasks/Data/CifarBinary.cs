using Bilevel.Tasks.Data.Internal;

namespace Bilevel.Tasks.Data;

/// <summary>Which CIFAR binary layout a file uses, and for CIFAR-100 which of its two labels to keep.</summary>
public enum CifarFormat
{
    /// <summary>CIFAR-10 (<c>data_batch_1.bin</c>…<c>data_batch_5.bin</c>, <c>test_batch.bin</c>): 1 label byte (0..9), then 3072 pixel bytes.</summary>
    Cifar10,

    /// <summary>CIFAR-100 (<c>train.bin</c>, <c>test.bin</c>) keeping the coarse label (0..19): coarse byte, fine byte, 3072 pixel bytes.</summary>
    Cifar100Coarse,

    /// <summary>CIFAR-100 keeping the fine label (0..99).</summary>
    Cifar100Fine,
}

/// <summary>
/// Reads the CIFAR-10/100 "binary version": fixed-size records of label byte(s) followed by a 32×32 image as three
/// 1024-byte planes (red, green, blue, each row-major), i.e. already NCHW. Pixels are scaled by 1/255. gzip-compressed
/// files are read transparently.
/// </summary>
public static class CifarBinary
{
    public const int Channels = 3;
    public const int Height = 32;
    public const int Width = 32;
    public const int ImageBytes = Channels * Height * Width;

    /// <summary>Bytes per record: label bytes plus <see cref="ImageBytes"/>.</summary>
    public static int RecordBytes(CifarFormat format) => LabelBytes(format) + ImageBytes;

    /// <summary>The number of classes of the label <paramref name="format"/> keeps.</summary>
    public static int ClassCount(CifarFormat format) => format switch
    {
        CifarFormat.Cifar10 => 10,
        CifarFormat.Cifar100Coarse => 20,
        CifarFormat.Cifar100Fine => 100,
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "cifar: unknown format."),
    };

    /// <summary>Reads one batch file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DataFormatException">Its length is not a whole number of records, or a label is out of range.</exception>
    public static LabeledImages Read(string path, CifarFormat format)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        int record = RecordBytes(format);
        int labelBytes = LabelBytes(format);
        int classes = ClassCount(format);
        string expected = $"a {format} binary batch: records of {labelBytes} label byte(s) and {ImageBytes} pixel bytes ({record} bytes each)";

        byte[] data;
        using (var stream = DataFiles.OpenRead(full, expected, out long stored, out bool compressed))
        {
            if (compressed)
            {
                using var memory = new MemoryStream();
                try
                {
                    stream.CopyTo(memory);
                }
                catch (InvalidDataException e)
                {
                    throw new DataFormatException(full, $"the gzip stream is corrupt ({e.Message}); expected {expected}", e);
                }
                data = memory.ToArray();
            }
            else
            {
                if (stored > Array.MaxLength)
                    throw new DataFormatException(full, $"{stored} bytes; expected at most {Array.MaxLength} in one batch file");
                data = new byte[stored];
                int got = DataFiles.ReadFully(stream, data, full);
                if (got != stored)
                    throw new DataFormatException(full, $"the file shrank while being read ({got} of {stored} bytes)");
            }
        }

        if (data.Length == 0 || data.Length % record != 0)
            throw new DataFormatException(full,
                $"{data.Length} bytes is not a whole number of records ({data.Length / record} records and {data.Length % record} bytes left over); expected {expected}");

        int count = data.Length / record;
        var pixels = new float[(long)count * ImageBytes];
        var labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            var rec = data.AsSpan(i * record, record);
            int label = format == CifarFormat.Cifar100Fine ? rec[1] : rec[0];
            if (format != CifarFormat.Cifar10 && rec[0] >= 20)
                throw new DataFormatException(full, $"record {i} (byte offset {(long)i * record}) has coarse label {rec[0]}; expected 0..19 (is this a CIFAR-10 file?)");
            if (label >= classes)
                throw new DataFormatException(full, $"record {i} (byte offset {(long)i * record}) has label {label}; expected 0..{classes - 1} for {format} (is the format right?)");
            labels[i] = label;
            PixelCodec.FromBytes(rec[labelBytes..], pixels.AsSpan(i * ImageBytes, ImageBytes));
        }
        return new LabeledImages(count, Channels, Height, Width, pixels, labels);
    }

    /// <summary>Reads batch files one after another (e.g. <c>data_batch_1.bin</c>…<c>data_batch_5.bin</c>) into one set.</summary>
    public static LabeledImages Read(IEnumerable<string> paths, CifarFormat format)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var parts = paths.Select(p => Read(p, format)).ToList();
        if (parts.Count == 0) throw new ArgumentException("cifar: no batch files given.", nameof(paths));
        return parts.Count == 1 ? parts[0] : LabeledImages.Concat(parts);
    }

    /// <summary>Reads batch files named relative to <paramref name="root"/>.</summary>
    public static LabeledImages Read(DataRoot root, IEnumerable<string> relativePaths, CifarFormat format)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(relativePaths);
        return Read(relativePaths.Select(root.Resolve).ToList(), format);
    }

    private static int LabelBytes(CifarFormat format) => format switch
    {
        CifarFormat.Cifar10 => 1,
        CifarFormat.Cifar100Coarse or CifarFormat.Cifar100Fine => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "cifar: unknown format."),
    };
}
