namespace Bilevel.Contracts.Internal;

/// <summary>Collects a document's errors, up to the limit, so one bad spec cannot make an unbounded reply.</summary>
internal sealed class SpecErrors(int maxErrors)
{
    private readonly List<FieldError> _errors = [];

    public int Count => _errors.Count;

    public IReadOnlyList<FieldError> Items => _errors;

    public void Add(string path, string message)
    {
        if (_errors.Count < maxErrors)
            _errors.Add(new FieldError(path, message));
    }
}
