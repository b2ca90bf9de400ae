namespace Bilevel.Grid.Running;

/// <summary>
/// A trial whose configuration cannot run: <see cref="Field"/> is the spec path of the offending value
/// (<c>estimator.options.directions</c>, <c>task.config.learningRate</c>, <c>params.outer.lr</c>, …) and the message
/// says what is allowed there. The runner fails such a trial at once (retrying cannot help).
/// </summary>
public sealed class TrialConfigException : ArgumentException
{
    public TrialConfigException(string field, string problem)
        : base($"field '{field}' {problem}")
    {
        Field = field;
        Problem = problem;
    }

    public TrialConfigException(string field, string problem, Exception innerException)
        : base($"field '{field}' {problem}", innerException)
    {
        Field = field;
        Problem = problem;
    }

    /// <summary>The spec path of the offending value.</summary>
    public string Field { get; }

    /// <summary>What is wrong there and what is allowed.</summary>
    public string Problem { get; }
}
