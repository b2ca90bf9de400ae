namespace Bilevel.Grid;

/// <summary>One trial of an expanded sweep: its 1-based number, its parameter values (a JSON object), its seed.</summary>
public sealed record TrialPlan(int Number, string ParamsJson, long Seed);
