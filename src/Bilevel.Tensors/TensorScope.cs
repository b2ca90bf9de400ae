using Bilevel.Tensors.Internal;

namespace Bilevel.Tensors;

/// <summary>
/// Owns every tensor created on this thread while it is the innermost scope, and returns their buffers to the pool
/// when disposed, except those passed to <see cref="Keep{T}"/>, which move to the enclosing scope (or, at the
/// outermost level, to the caller). Scopes nest per thread and must be disposed innermost first.
/// </summary>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic] private static TensorScope? current;

    private readonly TensorScope? parent;
    private readonly List<IScopedResource> owned = [];
    private int compactAt = 64;
    private bool disposed;

    private TensorScope(TensorScope? parent) => this.parent = parent;

    /// <summary>Opens a scope on the current thread.</summary>
    public static TensorScope Begin() => current = new TensorScope(current);

    /// <summary>Tensors owned by this scope right now (for tests of ownership).</summary>
    public int OwnedCount
    {
        get
        {
            int n = 0;
            foreach (var r in owned) if (r.Owner == this) n++;
            return n;
        }
    }

    internal static void Adopt(IScopedResource resource)
    {
        var scope = current;
        resource.Owner = scope;
        scope?.Add(resource);
    }

    /// <summary>Moves <paramref name="tensor"/> (and its tangents) out of this scope into the enclosing one.</summary>
    public Tensor<T> Keep<T>(Tensor<T> tensor) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ObjectDisposedException.ThrowIf(disposed, this);
        MoveToParent(tensor);
        return tensor;
    }

    /// <summary>Whether <paramref name="resource"/> belongs to this scope (was created in it and not kept).</summary>
    internal bool Owns(IScopedResource resource) => resource.Owner == this;

    private void MoveToParent(IScopedResource resource)
    {
        if (resource.Owner == this)
        {
            resource.Owner = parent;
            parent?.Add(resource);
        }
        foreach (var d in resource.Dependents()) MoveToParent(d);
    }

    private void Add(IScopedResource resource)
    {
        owned.Add(resource);
        // A long-lived outer scope receives one kept tensor per step; dropping entries that moved on keeps it bounded.
        if (owned.Count >= compactAt)
        {
            owned.RemoveAll(r => r.Owner != this);
            compactAt = Math.Max(64, owned.Count * 2);
        }
    }

    public void Dispose()
    {
        if (disposed) return;
        if (current != this)
            throw new InvalidOperationException("TensorScope: scopes must be disposed on the thread that opened them, innermost first.");
        disposed = true;
        current = parent;
        foreach (var r in owned)
            if (r.Owner == this) r.Release();
        owned.Clear();
    }
}
