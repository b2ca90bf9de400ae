using System.Text.Json;
using Bilevel.Contracts;
using Bilevel.Grid.Running;
using Bilevel.Hypergradients;
using Bilevel.Hypergradients.Estimators;
using Bilevel.Silo.Tests.Infrastructure;

namespace Bilevel.Silo.Tests.Running;

/// <summary>How a trial's searched values address the spec, and the estimator registry's mapping and option errors.</summary>
public sealed class TrialConfigurationTests
{
    private static readonly SweepSpec Single = QuadraticSpecs.Single(EstimatorNames.Fg2u, """{"directions": 2}""", outer: """{"optimizer": "momentum"}""");

    private static readonly SweepSpec TwoPhase = QuadraticSpecs.TwoPhase(outerSteps: 20, checkpointInterval: 5, switchStep: 9);

    [Fact]
    public void Prefixed_names_set_task_estimator_and_outer_fields_and_nested_paths()
    {
        var configuration = TrialConfiguration.Resolve(Single, Params("""
            {"task.learningRate": 0.05, "task.extra.depth": 3, "estimator.directions": 8, "estimator.distribution": "gaussian",
             "outer.learningRate": 0.2, "outer.precision": "float32"}
            """), seed: 7);

        Assert.Equal(0.05, configuration.TaskConfig.GetProperty("learningRate").GetDouble());
        Assert.Equal(3, configuration.TaskConfig.GetProperty("extra").GetProperty("depth").GetInt32());
        Assert.Equal(8, configuration.TaskConfig.GetProperty("innerSize").GetInt32());
        Assert.False(configuration.TaskConfig.TryGetProperty("outer", out _), "the reserved outer member is not the task's");
        Assert.Equal(8, configuration.Estimator!.Options.GetProperty("directions").GetInt32());
        Assert.Equal("gaussian", configuration.Estimator.Options.GetProperty("distribution").GetString());
        Assert.Equal(OuterOptimizerKind.Momentum, configuration.Outer.Optimizer);
        Assert.Equal(0.2, configuration.Outer.LearningRate);
        Assert.Equal(TrialPrecision.Float32, configuration.Outer.Precision);
        Assert.Equal(7, configuration.Seed);
        var estimator = Assert.IsType<ForwardGradientUnrolling>(EstimatorFactory.Create(configuration));
        Assert.Equal((8, DirectionDistribution.Gaussian), (estimator.Directions, estimator.Distribution));
    }

    [Fact]
    public void Phase_and_switch_names_set_the_schedule_and_name_swaps_the_estimator()
    {
        var configuration = TrialConfiguration.Resolve(TwoPhase, Params("""
            {"phase1.k": 3, "phase2.name": "fg2u-zo", "phase2.directions": 6, "switch.step": 4}
            """), seed: 1);

        var schedule = Assert.IsType<Bilevel.Hypergradients.TwoPhaseSchedule>(EstimatorFactory.Create(configuration));
        Assert.Equal(3, Assert.IsType<ReverseUnrolling>(schedule.PhaseOne).Truncation);
        Assert.Equal(6, Assert.IsType<ZerothOrder>(schedule.PhaseTwo).Directions);
        Assert.Equal(new SwitchAtStep(4), schedule.Rule);
    }

    [Theory]
    [InlineData("""{"learningRate": 0.1}""", "params.learningRate", "addresses no spec field")]
    [InlineData("""{"model.lr": 0.1}""", "params.model.lr", "addresses no spec field")]
    [InlineData("""{"task.": 0.1}""", "params.task.", "addresses no spec field")]
    [InlineData("""{"phase1.k": 3}""", "params.phase1.k", "single estimator")]
    [InlineData("""{"task.a": 1, "task.a.b": 2}""", "params.task.a.b", "lies inside search parameter 'task.a'")]
    [InlineData("""{"task.innerSize.x": 2}""", "params.task.innerSize.x", "not an object")]
    [InlineData("""{"estimator.name": 3}""", "params.estimator.name", "an estimator name")]
    [InlineData("""{"outer.optimizer": "lbfgs"}""", "task.config.outer.optimizer", "set by search parameter 'outer.optimizer' = \"lbfgs\"")]
    [InlineData("""{"outer.learningRate": -1}""", "task.config.outer.learningRate", "must be a number in (0,")]
    [InlineData("""{"outer.momentun": 0.5}""", "task.config.outer.momentun", "is not a known option")]
    [InlineData("""{"estimator.name": "adagrad"}""", "estimator.name", "not an estimator of this build")]
    public void Bad_addresses_and_values_name_the_field(string parameters, string field, string problem)
    {
        var error = Assert.Throws<TrialConfigException>(() => EstimatorFactory.Create(TrialConfiguration.Resolve(Single, Params(parameters), 0)));
        Assert.Equal(field, error.Field);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_estimator_parameter_in_a_two_phase_spec_says_to_use_the_phases()
    {
        var error = Assert.Throws<TrialConfigException>(() => TrialConfiguration.Resolve(TwoPhase, Params("""{"estimator.directions": 3}"""), 0));
        Assert.Equal("params.estimator.directions", error.Field);
        Assert.Contains("phase1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_fingerprint_ignores_key_order_and_number_spelling_but_not_values()
    {
        var a = TrialConfiguration.Resolve(Single with { Task = Single.Task with { Config = QuadraticSpecs.Json("""{"outerSize": 3, "innerSize": 8, "unrollSteps": 5, "learningRate": 1e-1}""") } }, default, 0);
        var b = TrialConfiguration.Resolve(Single with { Task = Single.Task with { Config = QuadraticSpecs.Json("""{"innerSize": 8, "unrollSteps": 5.0, "outerSize": 3, "learningRate": 0.1}""") } }, default, 0);
        var c = TrialConfiguration.Resolve(Single with { Task = Single.Task with { Config = QuadraticSpecs.Json("""{"innerSize": 8, "unrollSteps": 5, "outerSize": 3, "learningRate": 0.2}""") } }, default, 0);
        Assert.Equal(a.Fingerprint, b.Fingerprint);
        Assert.NotEqual(a.Fingerprint, c.Fingerprint);
        Assert.NotEqual(a.Fingerprint, TrialConfiguration.Resolve(Single, default, 1).Fingerprint);
    }

    [Fact]
    public void The_registry_builds_every_estimator_of_the_spec_names()
    {
        var options = new Dictionary<string, string> { [EstimatorNames.Trgu] = """{"k": 2}""" };
        foreach (var name in EstimatorFactory.Names)
        {
            var estimator = EstimatorFactory.Create(new EstimatorSpec(name, QuadraticSpecs.Json(options.GetValueOrDefault(name, "{}"))));
            Assert.False(string.IsNullOrEmpty(estimator.Name));
        }
        Assert.Equal(EstimatorNames.All, EstimatorFactory.Names);
    }

    private static JsonElement Params(string json) => QuadraticSpecs.Json(json);
}
