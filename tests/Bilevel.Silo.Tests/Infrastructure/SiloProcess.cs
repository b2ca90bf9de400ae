using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;

namespace Bilevel.Silo.Tests.Infrastructure;

/// <summary>
/// A real silo process (<c>dotnet Bilevel.Silo.dll</c>) on loopback with the given configuration, its output kept
/// for assertions and failure messages. Disposal kills it if it still runs.
/// </summary>
internal sealed class SiloProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();

    private SiloProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Name { get; }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string Output => string.Join('\n', _lines);

    public static string AssemblyPath { get; } = Path.GetFullPath(typeof(SiloProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "SiloAssembly").Value!);

    /// <summary>Starts a silo with <paramref name="settings"/> as <c>--Key value</c> arguments.</summary>
    public static SiloProcess Start(string name, IReadOnlyDictionary<string, string> settings)
    {
        if (!File.Exists(AssemblyPath))
            throw new InvalidOperationException($"The silo is not built at {AssemblyPath}; build the solution (or tests/Bilevel.Silo.Tests) first.");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(AssemblyPath)!,
        };
        start.ArgumentList.Add(AssemblyPath);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add("http://127.0.0.1:0");
        foreach (var (key, value) in settings)
        {
            start.ArgumentList.Add($"--{key}");
            start.ArgumentList.Add(value);
        }
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        // Short-lived test processes: skip the profile-guided instrumentation tier, which only pays off later.
        start.Environment["DOTNET_TieredPGO"] = "0";
        start.Environment["Logging__Console__FormatterName"] = "simple";
        start.Environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
        start.Environment["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss.fff ";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Logging__LogLevel__Bilevel"] = "Information";
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var silo = new SiloProcess(name, process);
        process.OutputDataReceived += (_, e) => silo.Add(e.Data);
        process.ErrorDataReceived += (_, e) => silo.Add(e.Data);
        if (!process.Start())
            throw new InvalidOperationException($"Could not start silo {name}.");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return silo;
    }

    public bool OutputContains(string text) => _lines.Any(l => l.Contains(text, StringComparison.Ordinal));

    /// <summary>SIGKILL: no shutdown code runs.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    /// <summary>Sends a signal (TERM, STOP, CONT) with kill(1).</summary>
    public Task SignalAsync(string signal) =>
        ProcessRunner.RunAsync("kill", [$"-{signal}", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10));

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"Silo {Name} did not exit within {timeout}. Its output:\n{Tail()}");
        }
        return _process.ExitCode;
    }

    /// <summary>The last lines of output, for failure messages.</summary>
    public string Tail(int lines = 40) => $"--- {Name} (pid {_process.Id}) ---\n" + string.Join('\n', _lines.TakeLast(lines));

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }

    private void Add(string? line)
    {
        if (line is null)
            return;
        _lines.Enqueue(line);
        while (_lines.Count > 5000 && _lines.TryDequeue(out _))
        {
        }
    }
}
