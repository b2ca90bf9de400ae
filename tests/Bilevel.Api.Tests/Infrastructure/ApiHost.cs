using System.Net.Http.Headers;
using Bilevel.Client;
using Bilevel.Grid;
using Bilevel.Silo.Api;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Bilevel.Api.Tests.Infrastructure;

/// <summary>
/// The real API host, in process: a WebApplication with the silo's AddGridApi/MapGridApi on Kestrel at a free
/// loopback port, an SQLite store in a temporary directory, and a token. Shared by the tests of one collection.
/// </summary>
public class ApiHost : IAsyncLifetime
{
    public const string Token = "test-token-5b0e6a1f";

    private string _directory = "";

    public WebApplication App { get; private set; } = null!;

    public IGridStore Store { get; private set; } = null!;

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Sends the token.</summary>
    public HttpClient Http { get; private set; } = null!;

    /// <summary>Sends no token.</summary>
    public HttpClient Anonymous { get; private set; } = null!;

    public GridClient Client { get; private set; } = null!;

    protected virtual string? ConfiguredToken => Token;

    protected virtual IGridStore CreateStore(string directory) =>
        new SqliteGridStore(new SqliteGridStoreOptions { DatabasePath = Path.Combine(directory, "grid.db") });

    public async Task InitializeAsync()
    {
        _directory = Directory.CreateTempSubdirectory("bilevel-api-").FullName;
        Store = CreateStore(_directory);
        await Store.MigrateAsync(CancellationToken.None);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = _directory, EnvironmentName = "Production" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Silo:Api:Token"] = ConfiguredToken,
            [GridApiOptions.TokenVariable] = "",
        });
        builder.Services.AddSingleton(Store);
        builder.Services.AddGridApi(builder.Configuration);
        App = builder.Build();
        App.MapGridApi();
        await App.StartAsync();
        var address = App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        BaseAddress = new Uri(address.TrimEnd('/') + "/");
        Http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        if (ConfiguredToken is not null)
            Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ConfiguredToken);
        Anonymous = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        Client = new GridClient(new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) }, ConfiguredToken);
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        Anonymous.Dispose();
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        await Store.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ApiCollection : ICollectionFixture<ApiHost>
{
    public const string Name = "api";
}
