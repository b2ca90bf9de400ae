using System.IO.Compression;

namespace Bilevel.Tasks.Data.Internal;

/// <summary>Opening data files (gzip detected by its magic, not by the name) and writing them atomically.</summary>
internal static class DataFiles
{
    /// <summary>DEFLATE's best compression ratio is about 1032:1; a header promising more than that is corrupt.</summary>
    public const long MaxDeflateRatio = 1032;

    /// <summary>
    /// Opens <paramref name="path"/> for reading, decompressing when it starts with the gzip magic (1F 8B).
    /// <paramref name="storedLength"/> is the file's length on disk; <paramref name="compressed"/> says whether it is gzip.
    /// </summary>
    public static Stream OpenRead(string path, string expected, out long storedLength, out bool compressed)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException(
                Directory.Exists(path) ? $"{path}: is a folder; expected {expected}." : $"{path}: no such file; expected {expected}.", path);
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        try
        {
            storedLength = file.Length;
            Span<byte> magic = stackalloc byte[2];
            int got = file.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
            file.Position = 0;
            compressed = got == 2 && magic[0] == 0x1F && magic[1] == 0x8B;
            return compressed ? new GZipStream(file, CompressionMode.Decompress, leaveOpen: false) : file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Reads until <paramref name="buffer"/> is full or the stream ends; returns the count read.</summary>
    public static int ReadFully(Stream stream, Span<byte> buffer, string path)
    {
        try
        {
            return stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        }
        catch (InvalidDataException e)
        {
            throw new DataFormatException(path, $"the gzip stream is corrupt ({e.Message})", e);
        }
    }

    /// <summary>True when the stream has no byte left (reads at most one).</summary>
    public static bool AtEnd(Stream stream, string path)
    {
        Span<byte> one = stackalloc byte[1];
        return ReadFully(stream, one, path) == 0;
    }

    /// <summary>
    /// Writes through <paramref name="write"/> into a temporary file beside <paramref name="path"/> (gzip-compressed
    /// when the name ends in <c>.gz</c>), then renames it over <paramref name="path"/>: readers never see half a file.
    /// </summary>
    public static void WriteAtomically(string path, Action<Stream> write)
    {
        string full = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(full) ?? throw new ArgumentException($"{full}: has no folder.", nameof(path));
        Directory.CreateDirectory(folder);
        string temporary = Path.Join(folder, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                if (full.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
                {
                    using var gzip = new GZipStream(file, CompressionLevel.Optimal, leaveOpen: true);
                    write(gzip);
                }
                else
                {
                    write(file);
                }
                file.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }
}
