namespace Bilevel.Contracts;

/// <summary>
/// One thing wrong with a request: <see cref="Path"/> is the JSON path of the offending field (<c>$</c> for the
/// document itself, e.g. <c>$.search.parameters.lr.low</c>), <see cref="Message"/> says what was wrong and what is
/// allowed.
/// </summary>
public sealed record FieldError(string Path, string Message)
{
    public override string ToString() => $"{Path}: {Message}";
}
