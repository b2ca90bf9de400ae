using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;

namespace Bilevel.Benchmarks.Estimators;

/// <summary>
/// A process that answers one command per line with one JSON line: hypergrad_bench.py, or our own worker
/// (<see cref="OurWorker"/>). Its first line says it is ready; "quit" ends it.
/// </summary>
internal sealed class WorkerProcess : IDisposable
{
    private readonly Process process;
    private readonly string name;
    private readonly StringBuilder stderr = new();

    private WorkerProcess(Process process, string name)
    {
        this.process = process;
        this.name = name;
    }

    /// <summary>The worker's first line.</summary>
    public JsonElement Ready { get; private set; }

    public static WorkerProcess? StartTorch(string arguments, out string? error)
    {
        string python = Environment.GetEnvironmentVariable("BILEVEL_TORCH_PYTHON") is { Length: > 0 } p ? p : "/usr/bin/python3";
        string? root = FindRepoRoot();
        string? script = root is null ? null : Path.Combine(root, "tests", "peer", "hypergrad_bench.py");
        if (script is null || !File.Exists(script))
        {
            error = $"tests/peer/hypergrad_bench.py not found above {AppContext.BaseDirectory}";
            return null;
        }
        if (!File.Exists(python))
        {
            error = $"{python} does not exist (install python3-torch)";
            return null;
        }
        var start = new ProcessStartInfo(python, $"\"{script}\" {arguments}");
        TorchPeer.Configure(start);
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OMP_WAIT_POLICY"))) start.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        return Start(start, "hypergrad_bench.py", out error);
    }

    /// <summary>This program again, serving one variant of one task.</summary>
    public static WorkerProcess? StartOurs(string task, string variant, int threads, out string? error)
    {
        string? path = Environment.ProcessPath;
        if (path is null)
        {
            error = "the benchmark's own executable is unknown";
            return null;
        }
        var start = new ProcessStartInfo(path);
        if (Path.GetFileNameWithoutExtension(path) == "dotnet") start.ArgumentList.Add(Assembly.GetExecutingAssembly().Location);
        foreach (var a in new[] { "--only", "estimators", "--threads", threads.ToString(CultureInfo.InvariantCulture) }) start.ArgumentList.Add(a);
        start.Environment[BenchmarkEnvironment.WorkerVariable] = $"{task}|{variant}";
        start.Environment[BenchmarkEnvironment.WidthVariable] = BenchmarkEnvironment.ConvNetWidth().ToString(CultureInfo.InvariantCulture);
        return Start(start, $"our {variant} worker", out error);
    }

    private static WorkerProcess? Start(ProcessStartInfo start, string name, out string? error)
    {
        start.RedirectStandardInput = true;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        Process? process;
        try
        {
            process = Process.Start(start);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            error = $"{start.FileName} could not be started: {e.Message}";
            return null;
        }
        if (process is null)
        {
            error = $"{start.FileName} could not be started";
            return null;
        }
        var worker = new WorkerProcess(process, name);
        process.ErrorDataReceived += (_, e) =>
        {
            lock (worker.stderr)
                if (e.Data is not null && worker.stderr.Length < 20_000) worker.stderr.AppendLine(e.Data);
        };
        process.BeginErrorReadLine();
        try
        {
            worker.Ready = worker.Read("start");
        }
        catch (InvalidOperationException e)
        {
            error = e.Message;
            worker.Dispose();
            return null;
        }
        error = null;
        return worker;
    }

    /// <summary>Sends one command and returns its JSON answer; throws <see cref="InvalidOperationException"/> with the error.</summary>
    public JsonElement Command(string command)
    {
        process.StandardInput.WriteLine(command);
        process.StandardInput.Flush();
        return Read(command);
    }

    private JsonElement Read(string command)
    {
        string line = process.StandardOutput.ReadLine() ?? throw new InvalidOperationException($"{name} ended during '{command}': {Stderr()}");
        using var json = JsonDocument.Parse(line);
        if (json.RootElement.TryGetProperty("error", out var error))
            throw new InvalidOperationException($"{name}: {error.GetString()}");
        return json.RootElement.Clone();
    }

    private string Stderr()
    {
        lock (stderr) return stderr.ToString().Trim();
    }

    public void Dispose()
    {
        try
        {
            if (!process.HasExited)
            {
                process.StandardInput.WriteLine("quit");
                process.StandardInput.Flush();
                if (!process.WaitForExit(TimeSpan.FromSeconds(30))) process.Kill();
            }
        }
        catch (IOException)
        {
            // The worker is already gone.
        }
        process.Dispose();
    }

    private static string? FindRepoRoot()
    {
        foreach (var origin in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
            for (var dir = new DirectoryInfo(origin); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "OrleansBilevel.sln"))) return dir.FullName;
        return null;
    }
}
