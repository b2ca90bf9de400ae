namespace Bilevel.Silo.Hosting;

/// <summary>The silo's short command-line switches and the configuration keys they set.</summary>
public static class SiloCommandLine
{
    public static IDictionary<string, string> SwitchMappings { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["--roles"] = SiloRolesParser.Key,
        ["--data-dir"] = "Silo:DataDirectory",
        ["--postgres"] = "Silo:Store:Postgres",
        ["--schema"] = "Silo:Store:Schema",
        ["--sqlite"] = "Silo:Store:Sqlite",
        ["--cpu-slots"] = "Worker:CpuSlots",
        ["--cuda-slots"] = "Worker:CudaSlots",
        ["--worker-id"] = "Worker:WorkerId",
    };
}
