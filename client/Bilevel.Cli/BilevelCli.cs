using System.CommandLine;
using System.Net.Http;
using Bilevel.Client;
using Spectre.Console;

namespace Bilevel.Cli;

/// <summary>
/// The <c>bilevel</c> command line: <c>run</c> (a whole sweep in this process), <c>silo</c> (a host),
/// <c>sweep submit|status|pause|resume|cancel</c>, <c>trials list|show</c> and <c>results export</c>. Errors name
/// the offending argument, option or spec field and exit with 1 (2 for a malformed command line, 130 when
/// interrupted).
/// </summary>
public static class BilevelCli
{
    public const int Failed = 1;
    public const int Interrupted = 130;

    /// <summary>The process's entry: Ctrl+C or SIGTERM cancels the command (bilevel run then checkpoints and stops its workers).</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        using var interrupt = new CancellationTokenSource();
        void OnCancel(object? sender, ConsoleCancelEventArgs e)
        {
            // The first Ctrl+C stops gracefully; a second one ends the process at once.
            e.Cancel = !interrupt.IsCancellationRequested;
            interrupt.Cancel();
        }
        Console.CancelKeyPress += OnCancel;
        // SIGTERM (systemd, kill) stops as gracefully as the first Ctrl+C.
        using var terminate = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            interrupt.Cancel();
        });
        try
        {
            return await RunAsync(args, AnsiConsole.Console, Console.Error, LocalWorkers.Default, interrupt.Token).ConfigureAwait(false);
        }
        finally
        {
            Console.CancelKeyPress -= OnCancel;
        }
    }

    /// <summary>Runs one command line, writing to <paramref name="console"/> and errors to <paramref name="error"/>.</summary>
    public static async Task<int> RunAsync(string[] args, IAnsiConsole console, TextWriter error, ILocalWorkers? workers, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(error);
        var context = new CliContext(console, error, workers);
        var root = new RootCommand("Bilevel Grid: run sweeps of bilevel experiments, locally or on a silo.")
        {
            RunCommand.Create(context),
            SiloCommand.Create(context),
            RemoteCommands.Sweep(context),
            RemoteCommands.Trials(context),
            RemoteCommands.Results(context),
        };
        var parse = root.Parse(args);
        var configuration = new InvocationConfiguration { Error = error, ProcessTerminationTimeout = null };
        if (parse.Errors.Count > 0)
        {
            await parse.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
            return 2;
        }
        return await parse.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>Where a command writes, and what it runs trials with.</summary>
internal sealed class CliContext(IAnsiConsole console, TextWriter error, ILocalWorkers? workers)
{
    public IAnsiConsole Console { get; } = console;

    public TextWriter Error { get; } = error;

    public ILocalWorkers? Workers { get; } = workers;

    /// <summary>Runs a command body, turning the failures users cause into messages that name the field.</summary>
    public async Task<int> GuardAsync(Func<Task<int>> body, IReadOnlyDictionary<string, string>? fieldNames = null)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (CliException e)
        {
            await Error.WriteLineAsync($"error: {e.Field}: {e.Message}").ConfigureAwait(false);
            return BilevelCli.Failed;
        }
        catch (GridApiException e)
        {
            await Error.WriteLineAsync($"error: {(int)e.StatusCode} {e.Title}").ConfigureAwait(false);
            if (e.Errors.Count == 0)
                await Error.WriteLineAsync($"error: {e.Detail ?? e.Title}").ConfigureAwait(false);
            foreach (var (field, messages) in e.Errors)
            {
                var name = fieldNames is not null && fieldNames.TryGetValue(field, out var option) ? option : field;
                foreach (var message in messages)
                    await Error.WriteLineAsync($"error: {name}: {message}").ConfigureAwait(false);
            }
            return BilevelCli.Failed;
        }
        catch (HttpRequestException e)
        {
            await Error.WriteLineAsync($"error: --server: the silo could not be reached ({e.Message}); check --server or BILEVEL_SERVER").ConfigureAwait(false);
            return BilevelCli.Failed;
        }
        catch (TaskCanceledException e) when (e.InnerException is TimeoutException)
        {
            await Error.WriteLineAsync("error: --server: the silo did not answer in time").ConfigureAwait(false);
            return BilevelCli.Failed;
        }
        catch (OperationCanceledException)
        {
            await Error.WriteLineAsync("interrupted").ConfigureAwait(false);
            return BilevelCli.Interrupted;
        }
    }
}
