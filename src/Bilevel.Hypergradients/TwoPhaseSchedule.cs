using System.Numerics;
using Bilevel.Hypergradients.Estimators;
using Bilevel.Tensors;

namespace Bilevel.Hypergradients;

public enum Phase
{
    /// <summary>The cheap estimator (TRGU, Hessian-free, …).</summary>
    One = 1,

    /// <summary>(FG)²U refining.</summary>
    Two = 2,
}

/// <summary>The schedule's persistent state: part of a trial's checkpoint, so a resumed trial switches exactly where an uninterrupted one would.</summary>
public sealed record TwoPhaseState(Phase Phase, long? SwitchStep, double[] RecentLosses);

/// <summary>
/// The two-phase paradigm: a cheap estimator until <see cref="Rule"/> fires, then (FG)²U. The switch step is
/// recorded in <see cref="State"/>.
/// </summary>
public sealed class TwoPhaseSchedule : IHypergradientEstimator
{
    private readonly List<double> losses = [];

    public TwoPhaseSchedule(IHypergradientEstimator phaseOne, IHypergradientEstimator phaseTwo, SwitchRule rule)
    {
        ArgumentNullException.ThrowIfNull(phaseOne);
        ArgumentNullException.ThrowIfNull(phaseTwo);
        ArgumentNullException.ThrowIfNull(rule);
        rule.Validate();
        (PhaseOne, PhaseTwo, Rule) = (phaseOne, phaseTwo, rule);
    }

    public IHypergradientEstimator PhaseOne { get; }

    public IHypergradientEstimator PhaseTwo { get; }

    public SwitchRule Rule { get; }

    public Phase Phase { get; private set; } = Phase.One;

    /// <summary>The outer step from which phase II was used; null while in phase I.</summary>
    public long? SwitchStep { get; private set; }

    public string Name => $"two-phase({PhaseOne.Name} → {PhaseTwo.Name}, {Rule})";

    public TwoPhaseState State => new(Phase, SwitchStep, [.. losses]);

    public void Restore(TwoPhaseState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        Phase = state.Phase;
        SwitchStep = state.SwitchStep;
        losses.Clear();
        losses.AddRange(state.RecentLosses);
    }

    public HypergradientEstimate<T> Estimate<T>(IBilevelProblem<T> problem, Tensor<T> phi, long outerStep) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (Phase == Phase.One && Rule is SwitchAtStep fixedStep && outerStep >= fixedStep.Step) SwitchAt(outerStep);
        if (Phase == Phase.Two) return PhaseTwo.Estimate(problem, phi, outerStep);

        var estimate = PhaseOne.Estimate(problem, phi, outerStep);
        switch (Rule)
        {
            case SwitchOnPlateau plateau:
                losses.Add(estimate.OuterLoss);
                if (Plateaued(plateau)) SwitchAt(outerStep + 1);
                break;
            case SwitchOnCosine cosine when outerStep % cosine.Every == 0:
                using (TensorScope.Begin())
                {
                    var probe = new ForwardGradientUnrolling(cosine.ProbeDirections).Estimate(problem, phi, outerStep);
                    if (Vectors.Cosine(estimate.Gradient, probe.Gradient) < cosine.Threshold) SwitchAt(outerStep + 1);
                }
                break;
        }
        return estimate;
    }

    private void SwitchAt(long step)
    {
        Phase = Phase.Two;
        SwitchStep = step;
        losses.Clear();
    }

    private bool Plateaued(SwitchOnPlateau rule)
    {
        if (losses.Count <= rule.Window) return false;
        double before = losses.Take(losses.Count - rule.Window).Min();
        double recent = losses.Skip(losses.Count - rule.Window).Min();
        // Keep only what the rule looks at, so the state stays small over thousands of steps.
        if (losses.Count > 4 * rule.Window) losses.RemoveRange(0, losses.Count - 2 * rule.Window - 1);
        return before - recent <= rule.RelativeTolerance * Math.Abs(before);
    }
}
