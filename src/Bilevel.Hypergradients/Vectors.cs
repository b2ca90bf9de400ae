using System.Numerics;
using Bilevel.Tensors;

namespace Bilevel.Hypergradients;

/// <summary>Comparisons of hypergradient vectors, in double whatever the tensor type.</summary>
public static class Vectors
{
    public static double Cosine<T>(Tensor<T> a, Tensor<T> b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (dot, na, nb) = Sums(a, b);
        return dot / Math.Max(Math.Sqrt(na * nb), double.Epsilon);
    }

    /// <summary>‖a − reference‖ / ‖reference‖.</summary>
    public static double RelativeError<T>(Tensor<T> a, Tensor<T> reference) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (dot, na, nb) = Sums(a, reference);
        return Math.Sqrt(Math.Max(0, na - 2 * dot + nb)) / Math.Max(Math.Sqrt(nb), double.Epsilon);
    }

    private static (double Dot, double NormA, double NormB) Sums<T>(Tensor<T> a, Tensor<T> b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (a.Shape != b.Shape) throw new ArgumentException($"compare: shapes {a.Shape} and {b.Shape} differ.");
        double dot = 0, na = 0, nb = 0;
        var sa = a.Span;
        var sb = b.Span;
        for (int i = 0; i < sa.Length; i++)
        {
            double x = double.CreateChecked(sa[i]), y = double.CreateChecked(sb[i]);
            dot += x * y;
            na += x * x;
            nb += y * y;
        }
        return (dot, na, nb);
    }
}
