using System.Text.Json.Serialization;

namespace Bilevel.Contracts;

/// <summary>The kind of device a trial needs and a worker slot offers.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DeviceKind>))]
public enum DeviceKind
{
    [JsonStringEnumMemberName("cpu")] Cpu,
    [JsonStringEnumMemberName("cuda")] Cuda,
}
