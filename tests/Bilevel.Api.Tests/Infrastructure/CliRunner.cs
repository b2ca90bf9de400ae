using Bilevel.Cli;
using Spectre.Console;

namespace Bilevel.Api.Tests.Infrastructure;

/// <summary>Runs the bilevel CLI in process with its output captured.</summary>
internal static class CliRunner
{
    public sealed record Outcome(int ExitCode, string Output, string Error)
    {
        public override string ToString() => $"exit {ExitCode}\n--- out\n{Output}\n--- err\n{Error}";
    }

    public static async Task<Outcome> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        console.Profile.Width = 200;
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var code = await BilevelCli.RunAsync(args, console, error, LocalWorkers.Default, deadline.Token);
        return new Outcome(code, output.ToString(), error.ToString());
    }
}
