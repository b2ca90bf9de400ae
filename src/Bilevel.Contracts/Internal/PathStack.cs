namespace Bilevel.Contracts.Internal;

/// <summary>
/// Tracks the JSON path of the current position while a document streams by, so errors found before the document
/// is whole (too deep, bad syntax) can still name where they are.
/// </summary>
internal sealed class PathStack
{
    private readonly Stack<Frame> _frames = new();

    public int Depth => _frames.Count;

    /// <summary>True when the innermost container is an object still waiting for a key.</summary>
    public bool ExpectsKey => _frames.TryPeek(out var top) && !top.IsArray && top.Key is null;

    public void Push(bool isArray) => _frames.Push(new Frame(isArray));

    public void Pop()
    {
        _frames.Pop();
        ValueDone();
    }

    public void Key(string key) => _frames.Peek().Key = key;

    /// <summary>A scalar or container at the current position ended: advance to the next key or index.</summary>
    public void ValueDone()
    {
        if (!_frames.TryPeek(out var top))
            return;
        if (top.IsArray)
            top.Index++;
        else
            top.Key = null;
    }

    /// <summary>The path of the value at the current position.</summary>
    public string Current()
    {
        var path = JsonPathText.Root;
        foreach (var frame in _frames.Reverse())
        {
            if (frame.IsArray)
                path = JsonPathText.Index(path, frame.Index);
            else if (frame.Key is not null)
                path = JsonPathText.Property(path, frame.Key);
        }
        return path;
    }

    private sealed class Frame(bool isArray)
    {
        public bool IsArray { get; } = isArray;

        public int Index { get; set; }

        public string? Key { get; set; }
    }
}
