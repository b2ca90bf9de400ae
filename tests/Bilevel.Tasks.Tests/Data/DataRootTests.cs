using Bilevel.Tasks.Data;

namespace Bilevel.Tasks.Tests.Data;

public sealed class DataRootTests : IDisposable
{
    private readonly TempFolder temp = new();
    private readonly DataRoot root;

    public DataRootTests()
    {
        Directory.CreateDirectory(temp.File("root/mnist"));
        Directory.CreateDirectory(temp.File("outside"));
        File.WriteAllText(temp.File("outside/secret"), "x");
        root = new DataRoot(temp.File("root"));
    }

    public void Dispose() => temp.Dispose();

    [Fact]
    public void Names_inside_resolve_under_the_root()
    {
        Assert.Equal(temp.File("root/mnist/train-images-idx3-ubyte"), root.Resolve("mnist/train-images-idx3-ubyte"));
        Assert.Equal(temp.File("root/a/b"), root.Resolve("./a/b"));
        Assert.Equal(temp.File("root/mnist/x"), root.Resolve(temp.File("root/mnist/x")));
    }

    [Theory]
    [InlineData("../outside/secret")]
    [InlineData("mnist/../../outside/secret")]
    [InlineData("mnist/..")]
    [InlineData("..")]
    public void Dot_dot_segments_are_rejected(string name)
    {
        var e = Assert.Throws<DataPathException>(() => root.Resolve(name));
        Assert.Contains($"'{name}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("'..' segments are not allowed", e.Message, StringComparison.Ordinal);
        Assert.Equal(root.Path, e.RootPath);
    }

    [Fact]
    public void Absolute_paths_outside_are_rejected()
    {
        string outside = temp.File("outside/secret");
        var e = Assert.Throws<DataPathException>(() => root.Resolve(outside));
        Assert.Contains(outside, e.Message, StringComparison.Ordinal);
        Assert.Contains("outside the data root", e.Message, StringComparison.Ordinal);
        // A sibling whose name merely starts with the root's is outside too.
        Assert.Throws<DataPathException>(() => root.Resolve(temp.File("root-other/x")));
        Assert.Throws<DataPathException>(() => root.Resolve("/etc/passwd"));
    }

    [Fact]
    public void Symbolic_links_leading_outside_are_rejected()
    {
        Directory.CreateSymbolicLink(temp.File("root/escape"), temp.File("outside"));
        File.CreateSymbolicLink(temp.File("root/mnist/labels"), "../../outside/secret");

        var e = Assert.Throws<DataPathException>(() => root.Resolve("escape/secret"));
        Assert.Contains("'escape/secret'", e.Message, StringComparison.Ordinal);
        Assert.Contains($"a symbolic link leads it to {temp.File("outside/secret")}", e.Message, StringComparison.Ordinal);

        e = Assert.Throws<DataPathException>(() => root.Resolve("mnist/labels"));
        Assert.Contains(temp.File("outside/secret"), e.Message, StringComparison.Ordinal);

        // Reading through the API is stopped the same way.
        Assert.Throws<DataPathException>(() => IdxFile.Read(root, "escape/secret"));
        // Writing under an escaping link too (the file does not exist yet).
        Assert.Throws<DataPathException>(() => root.ResolveForWrite("escape/new/file"));
    }

    [Fact]
    public void Links_that_stay_inside_and_a_linked_root_are_fine()
    {
        Directory.CreateSymbolicLink(temp.File("root/alias"), "mnist");
        Assert.Equal(temp.File("root/alias/x"), root.Resolve("alias/x"));

        Directory.CreateSymbolicLink(temp.File("linked-root"), temp.File("root"));
        var linked = new DataRoot(temp.File("linked-root"));
        Assert.Equal(temp.File("linked-root/mnist/x"), linked.Resolve("mnist/x"));
        Assert.Throws<DataPathException>(() => linked.Resolve("../outside/secret"));
    }

    [Fact]
    public void The_default_root_honours_the_environment_variable()
    {
        string? saved = Environment.GetEnvironmentVariable(DataRoot.EnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable(DataRoot.EnvironmentVariable, temp.File("custom"));
            Assert.Equal(temp.File("custom"), DataRoot.FromEnvironment().Path);
            Environment.SetEnvironmentVariable(DataRoot.EnvironmentVariable, null);
            Assert.EndsWith(Path.Join("bilevel", "data"), DataRoot.FromEnvironment().Path, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable(DataRoot.EnvironmentVariable, saved);
        }
    }
}
