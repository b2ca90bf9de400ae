namespace Bilevel.Tasks.Pde;

/// <summary>
/// An exact solution of u_t + u·u_x = ν·u_xx on [0, 2π) by the Cole–Hopf transform u = −2ν·ψ_x/ψ, where
/// ψ_t = ν·ψ_xx with ψ(x, 0) = a + cos x (a &gt; 1 keeps ψ positive):
/// u(x, t) = 2ν·e^{−νt}·sin x / (a + e^{−νt}·cos x). Smooth and periodic; larger ν or a closer to 1 make it steeper.
/// </summary>
public sealed record ColeHopf(double Viscosity, double Offset)
{
    public double Value(double x, double t)
    {
        double decay = Math.Exp(-Viscosity * t);
        return 2 * Viscosity * decay * Math.Sin(x) / (Offset + decay * Math.Cos(x));
    }

    /// <summary>u(·, t) on the points <paramref name="grid"/>.</summary>
    public double[] Sample(IReadOnlyList<double> grid, double t)
    {
        ArgumentNullException.ThrowIfNull(grid);
        var u = new double[grid.Count];
        for (int j = 0; j < u.Length; j++) u[j] = Value(grid[j], t);
        return u;
    }
}
