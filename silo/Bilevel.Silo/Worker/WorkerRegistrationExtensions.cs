using Microsoft.Extensions.Options;

namespace Bilevel.Silo.Worker;

/// <summary>Registers the worker role's services.</summary>
public static class WorkerRegistrationExtensions
{
    /// <summary>
    /// Binds <see cref="WorkerOptions"/> from <c>Worker</c> and adds the worker (its claim loops, heartbeats and
    /// graceful shutdown). Needs an <see cref="Bilevel.Grid.IGridStore"/> registered by
    /// <see cref="Hosting.GridStoreRegistration.AddGridStore"/>.
    /// </summary>
    public static IServiceCollection AddGridWorker(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<WorkerOptions>().Bind(configuration.GetSection(WorkerOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<WorkerOptions>, WorkerOptionsValidator>();
        services.AddHostedService<GridWorker>();
        return services;
    }

    /// <summary>Adds the lease reaper (every silo may run it; the store elects one pass at a time).</summary>
    public static IServiceCollection AddGridReaper(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddHostedService<GridReaper>();
        return services;
    }
}

/// <summary>Refuses to start a worker with impossible settings, naming each key.</summary>
internal sealed class WorkerOptionsValidator : IValidateOptions<WorkerOptions>
{
    public ValidateOptionsResult Validate(string? name, WorkerOptions options)
    {
        var problems = options.Problems().ToArray();
        return problems.Length == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
