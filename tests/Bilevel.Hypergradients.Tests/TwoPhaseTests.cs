using Bilevel.Hypergradients.Estimators;
using Bilevel.Hypergradients.Problems;
using Bilevel.Nn.Optimizers;
using Bilevel.Tensors;

namespace Bilevel.Hypergradients.Tests;

/// <summary>The two-phase schedule switches where its rule says, records the step, and resumes from its state.</summary>
public sealed class TwoPhaseTests
{
    private static readonly IHypergradientEstimator Cheap = new ReverseUnrolling(truncation: 2);
    private static readonly IHypergradientEstimator Refine = new ForwardGradientUnrolling(4);

    private static List<OuterStepResult> Run(TwoPhaseSchedule schedule, int steps, long first = 0, Tensor<double>? phi = null)
    {
        var problem = Quadratic.Problem(steps: 10);
        var loop = new OuterLoop<double>(problem, schedule, new OuterSgd(0.05));
        phi ??= Quadratic.PhiTensor();
        var results = new List<OuterStepResult>();
        for (long k = first; k < first + steps; k++) results.Add(loop.Step(phi, k));
        return results;
    }

    [Fact]
    public void FixedStepRuleSwitchesAtThatStep()
    {
        using var scope = TensorScope.Begin();
        var schedule = new TwoPhaseSchedule(Cheap, Refine, new SwitchAtStep(3));
        var results = Run(schedule, 6);
        Assert.Equal([Phase.One, Phase.One, Phase.One, Phase.Two, Phase.Two, Phase.Two], results.Select(r => r.Phase!.Value));
        Assert.Equal(3, schedule.SwitchStep);
    }

    [Fact]
    public void CosineRuleSwitchesWhenTheProbeDisagrees()
    {
        using var scope = TensorScope.Begin();
        var always = new TwoPhaseSchedule(Cheap, Refine, new SwitchOnCosine(Threshold: 1.0, Every: 2, ProbeDirections: 2));
        Run(always, 3);
        Assert.Equal(1, always.SwitchStep); // probed at step 0; a cosine is never above 1 (up to rounding it may equal it)
        var never = new TwoPhaseSchedule(Cheap, Refine, new SwitchOnCosine(Threshold: -1.0, Every: 1, ProbeDirections: 2));
        Run(never, 3);
        Assert.Null(never.SwitchStep);
    }

    [Fact]
    public void PlateauRuleSwitchesOnceTheLossStopsImproving()
    {
        using var scope = TensorScope.Begin();
        var schedule = new TwoPhaseSchedule(Cheap, Refine, new SwitchOnPlateau(Window: 3, RelativeTolerance: 1e-3));
        var results = Run(schedule, 80);
        Assert.NotNull(schedule.SwitchStep);
        long switchStep = schedule.SwitchStep!.Value;
        Assert.InRange(switchStep, 4, 79);
        double before = results[(int)switchStep - 4].OuterLoss, at = results[(int)switchStep - 1].OuterLoss;
        Assert.True(before - at <= 1e-3 * Math.Abs(before) + 1e-12, "the switch should come after a window without progress");
    }

    [Fact]
    public void ResumingFromTheStateSwitchesAtTheSameStep()
    {
        using var scope = TensorScope.Begin();
        var rule = new SwitchOnPlateau(Window: 3, RelativeTolerance: 1e-3);
        var whole = new TwoPhaseSchedule(Cheap, Refine, rule);
        var phiWhole = Quadratic.PhiTensor();
        Run(whole, 60, phi: phiWhole);

        var first = new TwoPhaseSchedule(Cheap, Refine, rule);
        var phi = Quadratic.PhiTensor();
        Run(first, 20, phi: phi);
        var resumed = new TwoPhaseSchedule(Cheap, Refine, rule);
        resumed.Restore(first.State);
        Run(resumed, 40, first: 20, phi: phi);
        Assert.Equal(whole.SwitchStep, resumed.SwitchStep);
        Assert.Equal(phiWhole.ToArray(), phi.ToArray());
    }

    [Fact]
    public void BadRulesAreRejectedByName()
    {
        Assert.Contains("window", Assert.ThrowsAny<ArgumentException>(() => new TwoPhaseSchedule(Cheap, Refine, new SwitchOnPlateau(0, 0.1))).Message, StringComparison.Ordinal);
        Assert.Contains("threshold", Assert.ThrowsAny<ArgumentException>(() => new TwoPhaseSchedule(Cheap, Refine, new SwitchOnCosine(2, 1, 1))).Message, StringComparison.Ordinal);
        Assert.Contains("step", Assert.ThrowsAny<ArgumentException>(() => new TwoPhaseSchedule(Cheap, Refine, new SwitchAtStep(-1))).Message, StringComparison.Ordinal);
    }
}
