namespace Bilevel.Grid.Running;

/// <summary>A checkpoint payload that is not a readable <see cref="TrialCheckpoint"/> of this format (or is corrupt).</summary>
public sealed class CheckpointFormatException(string message) : Exception(message);
