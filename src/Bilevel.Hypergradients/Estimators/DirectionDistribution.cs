using System.Numerics;
using Bilevel.Tensors;

namespace Bilevel.Hypergradients.Estimators;

/// <summary>Random directions v with E[v vᵀ] = I, which is what makes (1/b) Σ (∇h·v_i) v_i unbiased.</summary>
public enum DirectionDistribution
{
    /// <summary>Entries ±1 with equal probability (lowest variance of the four for most problems).</summary>
    Rademacher,

    /// <summary>Entries standard normal.</summary>
    Gaussian,

    /// <summary>Uniform on the sphere of radius √N.</summary>
    Sphere,

    /// <summary>√N·e_j with j uniform.</summary>
    Coordinate,
}

internal static class Directions
{
    /// <summary>b directions as the rows of a [b, N] tensor, drawn from <paramref name="random"/>.</summary>
    public static Tensor<T> Sample<T>(DirectionDistribution distribution, int count, int size, CounterRandom random) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var v = Tensor<T>.Zeros(count, size);
        var span = v.Span;
        double root = Math.Sqrt(size);
        for (int i = 0; i < count; i++)
        {
            var row = span.Slice(i * size, size);
            switch (distribution)
            {
                case DirectionDistribution.Rademacher:
                    for (int j = 0; j < size; j++) row[j] = (random.NextUInt64() & 1) == 0 ? T.One : -T.One;
                    break;
                case DirectionDistribution.Gaussian:
                    random.FillGaussian(row);
                    break;
                case DirectionDistribution.Sphere:
                    random.FillGaussian(row);
                    double norm = 0;
                    foreach (var x in row) norm += double.CreateChecked(x * x);
                    var scale = T.CreateChecked(root / Math.Sqrt(norm));
                    for (int j = 0; j < size; j++) row[j] *= scale;
                    break;
                case DirectionDistribution.Coordinate:
                    row[random.NextInt(size)] = T.CreateChecked(root);
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(distribution), distribution, "Unknown direction distribution.");
            }
        }
        return v;
    }
}
