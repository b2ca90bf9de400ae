using System.CommandLine;
using Bilevel.Client;

namespace Bilevel.Cli;

/// <summary>
/// The options every command that talks to a silo takes: <c>--server URL</c> (default <c>BILEVEL_SERVER</c>, else
/// http://127.0.0.1:5000) and <c>--token T</c> (default <c>BILEVEL_API_TOKEN</c>), and the client they make.
/// </summary>
internal sealed class Remote
{
    public const string DefaultServer = "http://127.0.0.1:5000";

    public Option<string> Server { get; } = new("--server")
    {
        Description = "The silo's URL (env BILEVEL_SERVER; default " + DefaultServer + ")",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("BILEVEL_SERVER") is { Length: > 0 } s ? s : DefaultServer,
    };

    public Option<string?> Token { get; } = new("--token")
    {
        // Read from the environment when used, not as a default value, so that --help never prints it.
        Description = "The API token (env BILEVEL_API_TOKEN)",
    };

    public Option<bool> Json { get; } = new("--json") { Description = "Print the server's JSON instead of a table" };

    public void AddTo(Command command, bool json = false)
    {
        command.Options.Add(Server);
        command.Options.Add(Token);
        if (json)
            command.Options.Add(Json);
    }

    public GridClient CreateClient(ParseResult parse)
    {
        var server = parse.GetValue(Server)!;
        if (!Uri.TryCreate(server.EndsWith('/') ? server : server + "/", UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new CliException("--server", $"'{server}' is not an http:// or https:// URL");
        var token = parse.GetValue(Token) is { Length: > 0 } given ? given : Environment.GetEnvironmentVariable("BILEVEL_API_TOKEN");
        return new GridClient(uri, token);
    }
}
