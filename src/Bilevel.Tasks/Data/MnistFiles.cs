namespace Bilevel.Tasks.Data;

/// <summary>The two parts of MNIST and Fashion-MNIST as distributed.</summary>
public enum MnistPart
{
    /// <summary><c>train-images-idx3-ubyte</c> / <c>train-labels-idx1-ubyte</c> (60,000 images).</summary>
    Train,

    /// <summary><c>t10k-images-idx3-ubyte</c> / <c>t10k-labels-idx1-ubyte</c> (10,000 images).</summary>
    Test,
}

/// <summary>
/// Finds a user's MNIST or Fashion-MNIST files (same names for both) in a folder under the data root: the distributed
/// names, gzip-compressed (<c>.gz</c>) or not, and the <c>train-images.idx3-ubyte</c> spelling some mirrors use.
/// </summary>
public static class MnistFiles
{
    /// <summary>The file names tried, in order, for one kind ("images" with idx3, "labels" with idx1).</summary>
    public static IReadOnlyList<string> CandidateNames(MnistPart part, bool images)
    {
        string prefix = part switch
        {
            MnistPart.Train => "train",
            MnistPart.Test => "t10k",
            _ => throw new ArgumentOutOfRangeException(nameof(part), part, "mnist: unknown part."),
        };
        string kind = images ? "images" : "labels";
        string idx = images ? "idx3" : "idx1";
        return [$"{prefix}-{kind}-{idx}-ubyte", $"{prefix}-{kind}-{idx}-ubyte.gz", $"{prefix}-{kind}.{idx}-ubyte"];
    }

    /// <summary>
    /// Reads <paramref name="part"/> from <paramref name="folder"/> (relative to <paramref name="root"/>) as images
    /// [N, 1, 28, 28] in [0, 1] with their labels.
    /// </summary>
    /// <exception cref="FileNotFoundException">Neither file name exists; the message lists the paths tried.</exception>
    public static LabeledImages Load(DataRoot root, string folder, MnistPart part)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentException.ThrowIfNullOrEmpty(folder);
        return IdxFile.ReadLabeledImages(Find(root, folder, part, images: true), Find(root, folder, part, images: false));
    }

    private static string Find(DataRoot root, string folder, MnistPart part, bool images)
    {
        var tried = CandidateNames(part, images).Select(name => root.Resolve($"{folder}/{name}")).ToList();
        return tried.FirstOrDefault(File.Exists)
               ?? throw new FileNotFoundException(
                   $"{tried[0]}: no such file (nor {string.Join(", ", tried.Skip(1))}); expected the {part.ToString().ToLowerInvariant()} " +
                   $"{(images ? "images" : "labels")} of MNIST or Fashion-MNIST in IDX format, as distributed.",
                   tried[0]);
    }
}
