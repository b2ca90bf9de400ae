using System.Diagnostics;

namespace Bilevel.Tensors.Tests.Peer;

/// <summary>
/// Runs the PyTorch peer scripts in <c>tests/peer/</c> with a Python that can import torch
/// (Debian's <c>python3-torch</c> at <c>/usr/bin/python3</c>; <c>BILEVEL_TORCH_PYTHON</c> overrides).
/// A missing peer is a failure, never a skip: CI installs it.
/// </summary>
internal static class PythonPeer
{
    public const string PythonEnvVar = "BILEVEL_TORCH_PYTHON";
    public const string DefaultPython = "/usr/bin/python3";
    public const string MissingTorchMessage = "PyTorch peer not found: install python3-torch (Debian)";

    private static readonly Lazy<string> s_python = new(ProbePython);
    private static readonly Lazy<string> s_repoRoot = new(FindRepoRoot);

    /// <summary>The Python executable that imports torch; throws with <see cref="MissingTorchMessage"/> otherwise.</summary>
    public static string FindPython() => s_python.Value;

    /// <summary>The directory holding <c>OrleansBilevel.sln</c>, found upward from the test binary.</summary>
    public static string RepoRoot => s_repoRoot.Value;

    /// <summary>Full path of a script in <c>tests/peer/</c> (a rooted path is returned as is).</summary>
    public static string ScriptPath(string script) =>
        Path.IsPathRooted(script) ? script : Path.Combine(RepoRoot, "tests", "peer", script);

    /// <summary>
    /// Runs <c>python tests/peer/{script} {args}</c> (<paramref name="args"/> is a command line: quote
    /// paths with spaces) and returns its stdout; throws with its stderr when it exits non-zero, and
    /// <see cref="TimeoutException"/> (after killing it) when it outlives <paramref name="timeout"/>.
    /// </summary>
    public static string Run(string script, string args, TimeSpan timeout)
    {
        string path = ScriptPath(script);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Peer script {path} does not exist.", path);
        var (exitCode, stdout, stderr) = Exec(FindPython(), $"\"{path}\" {args}", timeout);
        if (exitCode != 0)
        {
            throw new InvalidOperationException(
                $"{Path.GetFileName(path)} {args} exited with code {exitCode}:{Environment.NewLine}{stderr}");
        }
        return stdout;
    }

    private static string ProbePython()
    {
        string python = Environment.GetEnvironmentVariable(PythonEnvVar) is { Length: > 0 } fromEnv
            ? fromEnv
            : DefaultPython;
        if (!File.Exists(python))
            throw new InvalidOperationException($"{MissingTorchMessage}: {python} does not exist (set {PythonEnvVar} to override).");
        (int exitCode, _, string stderr) =
            Exec(python, "-c \"import torch, functorch, numpy\"", TimeSpan.FromMinutes(2));
        if (exitCode != 0)
            throw new InvalidOperationException($"{MissingTorchMessage}: {python} cannot import torch, functorch and numpy:{Environment.NewLine}{stderr}");
        return python;
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

    private static (int ExitCode, string Stdout, string Stderr) Exec(string fileName, string arguments, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(fileName, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        psi.Environment["PYTHONIOENCODING"] = "utf-8";
        using var process = Process.Start(psi)
            ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw new TimeoutException(
                $"{fileName} {arguments} did not finish within {timeout}; killed it.{Environment.NewLine}{stderr.GetAwaiter().GetResult()}");
        }
        process.WaitForExit(); // drains the redirected streams
        return (process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }
}
