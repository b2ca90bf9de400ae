namespace Bilevel.Contracts;

/// <summary>The values a sweep spec takes for the fields it leaves out.</summary>
public static class SweepSpecDefaults
{
    public const int CheckpointInterval = 10;
    public const int MaxAttempts = 3;
    public const int Samples = 1;
}
