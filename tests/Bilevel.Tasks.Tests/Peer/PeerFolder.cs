using System.Globalization;
using System.Text.Json;
using Bilevel.Tensors.Tests.Peer;

namespace Bilevel.Tasks.Tests.Peer;

/// <summary>
/// A temporary folder through which a test and a PyTorch peer script in <c>tests/peer/</c> exchange identical inputs
/// and the results: raw little-endian arrays (<see cref="RawIO"/>) and the task's scalars in <c>spec.json</c>
/// (snake_case keys). Deleted on dispose.
/// </summary>
internal sealed class PeerFolder : IDisposable
{
    private static readonly JsonSerializerOptions SpecOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public string Location { get; } = Directory.CreateTempSubdirectory("bilevel-peer-").FullName;

    public void Write(string name, ReadOnlySpan<double> values) => RawIO.WriteFloat64(PathOf(name), values);

    public void Write(string name, ReadOnlySpan<int> values) => RawIO.WriteInt32(PathOf(name), values);

    /// <summary>Writes <c>spec.json</c> from the public properties of <paramref name="spec"/> (an anonymous object will do).</summary>
    public void WriteSpec(object spec) => File.WriteAllText(PathOf("spec.json"), JsonSerializer.Serialize(spec, SpecOptions));

    /// <summary>A float64 result the peer wrote, which must hold <paramref name="length"/> values.</summary>
    public double[] Read(string name, int length)
    {
        var values = RawIO.ReadFloat64(PathOf(name));
        Assert.True(values.Length == length, string.Create(CultureInfo.InvariantCulture, $"the peer's {name} holds {values.Length} values, expected {length}"));
        return values;
    }

    public double ReadScalar(string name) => Read(name, 1)[0];

    /// <summary>Runs <c>tests/peer/{script} --dir FOLDER {arguments}</c>; throws with its stderr when it fails.</summary>
    public void Run(string script, string arguments = "") => PythonPeer.Run(script, $"--dir \"{Location}\" {arguments}", TimeSpan.FromMinutes(5));

    public void Dispose() => Directory.Delete(Location, recursive: true);

    private string PathOf(string name) => Path.Combine(Location, name);
}
