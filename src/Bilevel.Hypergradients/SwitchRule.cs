namespace Bilevel.Hypergradients;

/// <summary>When the two-phase schedule leaves its cheap phase-I estimator for (FG)²U.</summary>
public abstract record SwitchRule
{
    public abstract void Validate();
}

/// <summary>Switch at a fixed outer step: phase II from step <paramref name="Step"/> on.</summary>
public sealed record SwitchAtStep(long Step) : SwitchRule
{
    public override void Validate()
    {
        if (Step < 0) throw new ArgumentException($"switch rule: step must be ≥ 0, got {Step}.", nameof(Step));
    }
}

/// <summary>
/// Switch once the outer loss stopped improving: the best loss of the last <paramref name="Window"/> steps is not
/// better than the best before them by more than <paramref name="RelativeTolerance"/>.
/// </summary>
public sealed record SwitchOnPlateau(int Window, double RelativeTolerance) : SwitchRule
{
    public override void Validate()
    {
        if (Window < 1) throw new ArgumentException($"switch rule: plateau window must be ≥ 1, got {Window}.", nameof(Window));
        if (!(RelativeTolerance >= 0)) throw new ArgumentException($"switch rule: plateau tolerance must be ≥ 0, got {RelativeTolerance}.", nameof(RelativeTolerance));
    }
}

/// <summary>
/// Every <paramref name="Every"/> outer steps, probe (FG)²U with <paramref name="ProbeDirections"/> directions and
/// switch when the cosine between the cheap estimate and the probe falls below <paramref name="Threshold"/>: the
/// cheap estimator no longer points where the unbiased one does.
/// </summary>
public sealed record SwitchOnCosine(double Threshold, int Every, int ProbeDirections) : SwitchRule
{
    public override void Validate()
    {
        if (!(Threshold >= -1 && Threshold <= 1)) throw new ArgumentException($"switch rule: cosine threshold must be in [-1, 1], got {Threshold}.", nameof(Threshold));
        if (Every < 1) throw new ArgumentException($"switch rule: probe interval must be ≥ 1, got {Every}.", nameof(Every));
        if (ProbeDirections < 1) throw new ArgumentException($"switch rule: probe directions must be ≥ 1, got {ProbeDirections}.", nameof(ProbeDirections));
    }
}
