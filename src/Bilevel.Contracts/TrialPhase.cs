namespace Bilevel.Contracts;

/// <summary>
/// The phase of a two-phase trial, written as the number 1 or 2: phase I runs the cheap estimator until the switch
/// rule fires, phase II refines with the second one. A single-estimator trial stays in phase I.
/// </summary>
public enum TrialPhase
{
    One = 1,
    Two = 2,
}
