namespace Bilevel.Tensors.Internal.Kernels;

/// <summary>An elementwise map from a source span to a destination span of equal length.</summary>
internal delegate void SpanMap<T>(ReadOnlySpan<T> x, Span<T> destination);
