using System.Numerics;
using System.Text.Json;
using Bilevel.Hypergradients;
using Bilevel.Tasks.Condensation;
using Bilevel.Tasks.Config;
using Bilevel.Tasks.Hpo;
using Bilevel.Tasks.Hypercleaning;
using Bilevel.Tasks.Pde;

namespace Bilevel.Tasks;

/// <summary>Builds a task's bilevel problem from its kind and JSON configuration: what a trial runs.</summary>
public static class TaskCatalog
{
    public const string Quadratic = "quadratic";
    public const string Hypercleaning = "hypercleaning";
    public const string Condensation = "condensation";
    public const string Hpo = "hpo";
    public const string PdeBurgers = "pde-burgers";

    public static IReadOnlyList<string> Kinds { get; } = [Quadratic, Hypercleaning, Condensation, Hpo, PdeBurgers];

    /// <summary>The problem for <paramref name="kind"/>; throws <see cref="TaskConfigException"/> naming the bad field.</summary>
    public static IBilevelProblem<T> Create<T>(string kind, JsonElement config, ulong seed) where T : unmanaged, IFloatingPointIeee754<T>
        => kind switch
        {
            Quadratic => TaskConfigReader.Read<QuadraticConfig>(kind, config).Build<T>(seed),
            Hypercleaning => TaskConfigReader.Read<HypercleaningConfig>(kind, config).Build<T>(seed),
            Condensation => TaskConfigReader.Read<CondensationConfig>(kind, config).Build<T>(seed),
            Hpo => TaskConfigReader.Read<HpoConfig>(kind, config).Build<T>(seed),
            PdeBurgers => TaskConfigReader.Read<BurgersConfig>(kind, config).Build<T>(seed),
            _ => throw new TaskConfigException(kind, "kind", $"is not a known task; known: {string.Join(", ", Kinds)}."),
        };
}
