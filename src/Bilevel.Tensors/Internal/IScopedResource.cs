namespace Bilevel.Tensors.Internal;

/// <summary>Something a <see cref="TensorScope"/> frees when it ends, unless kept.</summary>
public interface IScopedResource
{
    TensorScope? Owner { get; set; }

    /// <summary>Resources that live and die with this one (a tensor's tangents).</summary>
    IEnumerable<IScopedResource> Dependents();

    void Release();
}
