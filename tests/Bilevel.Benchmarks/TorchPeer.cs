using System.Diagnostics;
using System.Text.Json;
using Bilevel.Tensors.Internal.Native;

namespace Bilevel.Benchmarks;

/// <summary>
/// Runs a PyTorch peer benchmark in <c>tests/peer/</c> and parses the one JSON line it prints.
/// Python: <c>BILEVEL_TORCH_PYTHON</c>, else Debian's <c>/usr/bin/python3</c> with <c>python3-torch</c>.
/// </summary>
internal static class TorchPeer
{
    private const string MissingTorchMessage = "PyTorch peer not found: install python3-torch (Debian)";
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(30);

    /// <summary>
    /// Runs <c>python tests/peer/{script} {args}</c> (<paramref name="args"/> is a command line) and
    /// returns the last non-empty stdout line parsed as JSON; throws with stderr on failure.
    /// </summary>
    public static JsonElement RunJson(string script, string args)
    {
        string python = Environment.GetEnvironmentVariable("BILEVEL_TORCH_PYTHON") is { Length: > 0 } p ? p : "/usr/bin/python3";
        if (!File.Exists(python))
            throw new InvalidOperationException($"{MissingTorchMessage}: {python} does not exist.");
        string path = Path.Combine(FindRepoRoot(), "tests", "peer", script);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Peer script {path} does not exist.", path);

        var psi = new ProcessStartInfo(python, $"\"{path}\" {args}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        Configure(psi);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {python}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(s_timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{script} {args} did not finish within {s_timeout}; killed it.");
        }
        process.WaitForExit(); // drains the redirected streams
        string err = stderr.GetAwaiter().GetResult();
        if (process.ExitCode != 0)
        {
            string hint = err.Contains("No module named 'torch'", StringComparison.Ordinal) ? MissingTorchMessage + Environment.NewLine : "";
            throw new InvalidOperationException($"{hint}{script} {args} exited with code {process.ExitCode}:{Environment.NewLine}{err}");
        }
        string line = stdout.GetAwaiter().GetResult()
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .LastOrDefault() ?? throw new InvalidOperationException($"{script} {args} printed nothing on stdout.{Environment.NewLine}{err}");
        using var doc = JsonDocument.Parse(line);
        return doc.RootElement.Clone();
    }

    /// <summary>
    /// The environment every PyTorch peer starts with: no bytecode files in the repository, and the OpenBLAS kernel
    /// family our engine started OpenBLAS with (<see cref="OpenBlas.CoreTypeGiven"/>), so that both sides of a comparison multiply with
    /// the same kernels. The child would not inherit it: our choice is in the native environment only.
    /// </summary>
    public static void Configure(ProcessStartInfo start)
    {
        start.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        if (OpenBlas.CoreTypeGiven is { } coreType)
            start.Environment[OpenBlasCoreType.Variable] = coreType;
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OrleansBilevel.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"OrleansBilevel.sln not found in any parent of {AppContext.BaseDirectory}.");
    }
}
