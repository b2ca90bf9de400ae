using System.Diagnostics.CodeAnalysis;

namespace Bilevel.Tasks.Pde;

/// <summary>
/// Method of lines for the 1-D viscous Burgers equation u_t + c·u·u_x = ν·u_xx on the periodic domain [0, L):
/// central finite differences of order 2 or 4 in space, the flux written conservatively as c·(u²/2)_x, and the
/// classical fourth-order Runge–Kutta method in time. Plain double arrays, no autodiff: to the bilevel problem it is
/// a black box that maps coefficients to solution snapshots.
/// </summary>
/// <remarks>
/// Stability: linearised about |u| ≤ U, the semi-discrete operator has eigenvalues −ν·d(θ)/h² + i·c·U·a(θ)/h with
/// d ≤ <see cref="DiffusionBound"/> (4 for order 2, 16/3 for order 4) and a ≤ <see cref="AdvectionBound"/> (1, and
/// 1.372 for order 4). RK4 is stable on the real axis down to −2.785 and on the imaginary axis up to ±2.828, and its
/// stability region contains the diamond spanned by those four points, so Δt·(ν·d/(2.785·h²) + |c|·U·a/(2.828·h)) ≤ 1
/// is sufficient. Viscous Burgers obeys a maximum principle (max|u| does not grow), so U = max|u₀| holds for all time.
/// </remarks>
public sealed class BurgersSolver
{
    /// <summary>RK4's stability limit on the negative real axis.</summary>
    public const double RealAxisLimit = 2.785;

    /// <summary>RK4's stability limit on the imaginary axis (2√2).</summary>
    public const double ImaginaryAxisLimit = 2.828;

    public BurgersSolver(int gridPoints, int order = 4, double length = 2 * Math.PI)
    {
        if (gridPoints < 8) throw new ArgumentOutOfRangeException(nameof(gridPoints), gridPoints, "burgers: at least 8 grid points are needed.");
        if (order is not (2 or 4)) throw new ArgumentOutOfRangeException(nameof(order), order, "burgers: the spatial order must be 2 or 4.");
        if (!(length > 0) || !double.IsFinite(length)) throw new ArgumentOutOfRangeException(nameof(length), length, "burgers: the domain length must be positive.");
        GridPoints = gridPoints;
        Order = order;
        Length = length;
        Spacing = length / gridPoints;
    }

    public int GridPoints { get; }

    /// <summary>Order of the central differences in space: 2 or 4.</summary>
    public int Order { get; }

    public double Length { get; }

    /// <summary>h = L / N; grid point j sits at x_j = j·h.</summary>
    public double Spacing { get; }

    /// <summary>max_θ of the second-difference symbol, in units of 1/h².</summary>
    public double DiffusionBound => Order == 2 ? 4.0 : 16.0 / 3.0;

    /// <summary>max_θ of the first-difference symbol, in units of 1/h.</summary>
    public double AdvectionBound => Order == 2 ? 1.0 : 1.3722;

    public double[] Grid() => Enumerable.Range(0, GridPoints).Select(j => j * Spacing).ToArray();

    /// <summary>The largest RK4 step that is stable for viscosity ν and advection speed bound |c|·max|u| (no safety factor).</summary>
    public double MaxStableTimeStep(double viscosity, double maxSpeed)
    {
        double rate = Math.Abs(viscosity) * DiffusionBound / (RealAxisLimit * Spacing * Spacing) + Math.Abs(maxSpeed) * AdvectionBound / (ImaginaryAxisLimit * Spacing);
        return rate == 0 ? double.PositiveInfinity : 1 / rate;
    }

    /// <summary>
    /// Solves from u(0) = <paramref name="initial"/> and returns u at each of <paramref name="times"/> (ascending,
    /// &gt; 0). Between consecutive times it takes equal steps no longer than <paramref name="maxTimeStep"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The step is beyond the stability limit for these coefficients.</exception>
    /// <exception cref="ArithmeticException">The solution stopped being finite.</exception>
    public double[][] Solve(ReadOnlySpan<double> initial, double viscosity, double advection, IReadOnlyList<double> times, double maxTimeStep)
    {
        ArgumentNullException.ThrowIfNull(times);
        if (initial.Length != GridPoints)
            throw new ArgumentException($"burgers: the initial condition has {initial.Length} values for {GridPoints} grid points.", nameof(initial));
        if (!(viscosity >= 0) || !double.IsFinite(viscosity)) throw new ArgumentOutOfRangeException(nameof(viscosity), viscosity, "burgers: ν must be ≥ 0.");
        if (!double.IsFinite(advection)) throw new ArgumentOutOfRangeException(nameof(advection), advection, "burgers: c must be finite.");
        double maxU = 0;
        foreach (double x in initial) maxU = Math.Max(maxU, Math.Abs(x));
        double limit = MaxStableTimeStep(viscosity, advection * maxU);
        if (!(maxTimeStep > 0) || maxTimeStep > limit)
            throw new ArgumentException($"burgers: time step {maxTimeStep} is outside (0, {limit:G4}], RK4's stability limit for ν = {viscosity}, |c|·max|u₀| = {Math.Abs(advection) * maxU:G4} on {GridPoints} points.", nameof(maxTimeStep));

        var u = initial.ToArray();
        var work = new Workspace(GridPoints);
        var snapshots = new double[times.Count][];
        double now = 0;
        for (int k = 0; k < times.Count; k++)
        {
            double span = times[k] - now;
            if (!(span >= 0)) throw new ArgumentException($"burgers: observation times must be ascending and ≥ 0; {times[k]} follows {now}.", nameof(times));
            int steps = (int)Math.Ceiling(span / maxTimeStep - 1e-9);
            double dt = steps == 0 ? 0 : span / steps;
            for (int s = 0; s < steps; s++) Rk4Step(u, viscosity, advection, dt, work);
            foreach (double x in u) if (!double.IsFinite(x)) ThrowNotFinite(times[k]);
            snapshots[k] = (double[])u.Clone();
            now = times[k];
        }
        return snapshots;
    }

    /// <summary>du/dt = −c·D₁(u²/2) + ν·D₂u on the periodic grid.</summary>
    public void RightHandSide(ReadOnlySpan<double> u, double viscosity, double advection, Span<double> result)
    {
        int n = GridPoints;
        if (u.Length != n || result.Length != n) throw new ArgumentException($"burgers: spans must have {n} values.", nameof(u));
        RightHandSide(u, viscosity, advection, result, new double[n + 4], new double[n + 4]);
    }

    /// <summary>
    /// The right-hand side with caller-owned scratch: <paramref name="padded"/> and <paramref name="flux"/> hold u and
    /// u²/2 with two periodic ghost cells on each side, so the stencils need no index wrapping.
    /// </summary>
    private void RightHandSide(ReadOnlySpan<double> u, double viscosity, double advection, Span<double> result, Span<double> padded, Span<double> flux)
    {
        int n = GridPoints;
        u.CopyTo(padded.Slice(2, n));
        padded[0] = u[n - 2];
        padded[1] = u[n - 1];
        padded[n + 2] = u[0];
        padded[n + 3] = u[1];
        for (int i = 0; i < n + 4; i++) flux[i] = 0.5 * padded[i] * padded[i];
        double h = Spacing;
        if (Order == 2)
        {
            double a = -advection / (2 * h), d = viscosity / (h * h);
            for (int i = 0; i < n; i++)
            {
                int c = i + 2;
                result[i] = a * (flux[c + 1] - flux[c - 1]) + d * (padded[c + 1] - 2 * padded[c] + padded[c - 1]);
            }
        }
        else
        {
            // (−f₊₂ + 8f₊₁ − 8f₋₁ + f₋₂)/(12h) and (−u₊₂ + 16u₊₁ − 30u + 16u₋₁ − u₋₂)/(12h²).
            double a = -advection / (12 * h), d = viscosity / (12 * h * h);
            for (int i = 0; i < n; i++)
            {
                int c = i + 2;
                result[i] = a * (8 * (flux[c + 1] - flux[c - 1]) - (flux[c + 2] - flux[c - 2]))
                    + d * (16 * (padded[c + 1] + padded[c - 1]) - (padded[c + 2] + padded[c - 2]) - 30 * padded[c]);
            }
        }
    }

    private void Rk4Step(double[] u, double viscosity, double advection, double dt, Workspace w)
    {
        int n = GridPoints;
        RightHandSide(u, viscosity, advection, w.K1, w.Padded, w.Flux);
        for (int i = 0; i < n; i++) w.Stage[i] = u[i] + 0.5 * dt * w.K1[i];
        RightHandSide(w.Stage, viscosity, advection, w.K2, w.Padded, w.Flux);
        for (int i = 0; i < n; i++) w.Stage[i] = u[i] + 0.5 * dt * w.K2[i];
        RightHandSide(w.Stage, viscosity, advection, w.K3, w.Padded, w.Flux);
        for (int i = 0; i < n; i++) w.Stage[i] = u[i] + dt * w.K3[i];
        RightHandSide(w.Stage, viscosity, advection, w.K4, w.Padded, w.Flux);
        for (int i = 0; i < n; i++) u[i] += dt / 6 * (w.K1[i] + 2 * (w.K2[i] + w.K3[i]) + w.K4[i]);
    }

    [DoesNotReturn]
    private static void ThrowNotFinite(double time)
        => throw new ArithmeticException($"burgers: the solution is no longer finite at t = {time}; the time step or grid is not stable for these coefficients.");

    private sealed class Workspace(int n)
    {
        public double[] K1 { get; } = new double[n];

        public double[] K2 { get; } = new double[n];

        public double[] K3 { get; } = new double[n];

        public double[] K4 { get; } = new double[n];

        public double[] Stage { get; } = new double[n];

        public double[] Padded { get; } = new double[n + 4];

        public double[] Flux { get; } = new double[n + 4];
    }
}
