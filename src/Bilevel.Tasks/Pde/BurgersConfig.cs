using System.Globalization;
using System.Numerics;
using Bilevel.Tasks.Config;

namespace Bilevel.Tasks.Pde;

/// <summary>
/// Configuration of the PDE coefficient-discovery task (kind "pde-burgers"): recover the viscosity ν (and optionally
/// the advection coefficient c) of u_t + c·u·u_x = ν·u_xx on [0, 2π) from sparse noisy observations of the exact
/// Cole–Hopf solution with ν = <see cref="Viscosity"/>, c = 1, using <see cref="BurgersSolver"/> as a black box.
/// </summary>
public sealed record BurgersConfig : ITaskConfig
{
    /// <summary>Safety factor applied to RK4's stability limit when validating <see cref="TimeStep"/>.</summary>
    public const double StabilitySafety = 0.9;

    public int GridPoints { get; init; } = 64;

    /// <summary>Central differences of order 2 or 4.</summary>
    public int Order { get; init; } = 4;

    /// <summary>The largest RK4 step the solver may take.</summary>
    public double TimeStep { get; init; } = 0.004;

    /// <summary>The true ν that generated the observations.</summary>
    public double Viscosity { get; init; } = 0.1;

    /// <summary>a in the Cole–Hopf profile ψ₀ = a + cos x (a &gt; 1; closer to 1 is steeper).</summary>
    public double Offset { get; init; } = 1.5;

    /// <summary>Times at which the sensors observe u (ascending, &gt; 0).</summary>
    public double[] ObservationTimes { get; init; } = [0.5, 1, 1.5, 2];

    /// <summary>Evenly spaced sensor positions (grid points).</summary>
    public int Sensors { get; init; } = 16;

    /// <summary>Gaussian noise, relative to the RMS of the clean observations.</summary>
    public double Noise { get; init; } = 0.01;

    /// <summary>ν at φ₀.</summary>
    public double InitialViscosity { get; init; } = 0.3;

    /// <summary>ν is kept in [minViscosity, maxViscosity]; the stability check uses the upper bound.</summary>
    public double MinViscosity { get; init; } = 0.01;

    public double MaxViscosity { get; init; } = 1.0;

    /// <summary>Also recover c (the truth is 1); φ = [log ν, c].</summary>
    public bool LearnAdvection { get; init; }

    /// <summary>c at φ₀ when it is learned.</summary>
    public double InitialAdvection { get; init; } = 0.5;

    /// <summary>|c| is kept ≤ maxAdvection; the stability check uses it.</summary>
    public double MaxAdvection { get; init; } = 2.0;

    public void Validate(string task)
    {
        TaskConfigReader.Range(task, "gridPoints", GridPoints, 8, 4096);
        if (Order is not (2 or 4)) throw new TaskConfigException(task, "order", $"is {Order}; allowed values are 2 and 4.");
        TaskConfigReader.Range(task, "minViscosity", MinViscosity, 1e-6, 10);
        TaskConfigReader.Range(task, "maxViscosity", MaxViscosity, MinViscosity, 10);
        TaskConfigReader.Range(task, "viscosity", Viscosity, MinViscosity, MaxViscosity);
        TaskConfigReader.Range(task, "initialViscosity", InitialViscosity, MinViscosity, MaxViscosity);
        TaskConfigReader.Range(task, "maxAdvection", MaxAdvection, 1, 100);
        TaskConfigReader.Range(task, "initialAdvection", InitialAdvection, -MaxAdvection, MaxAdvection);
        TaskConfigReader.Range(task, "offset", Offset, 1.01, 100);
        TaskConfigReader.Range(task, "sensors", Sensors, 1, GridPoints);
        TaskConfigReader.Range(task, "noise", Noise, 0, 1);
        if (ObservationTimes.Length is < 1 or > 64)
            throw new TaskConfigException(task, "observationTimes", $"has {ObservationTimes.Length} entries; 1 to 64 are allowed.");
        for (int k = 0; k < ObservationTimes.Length; k++)
        {
            double low = k == 0 ? 1e-6 : ObservationTimes[k - 1] + 1e-9;
            TaskConfigReader.Range(task, $"observationTimes[{k}]", ObservationTimes[k], low, 100);
        }
        double limit = StabilitySafety * MaxStableTimeStep();
        if (!(TimeStep > 0 && TimeStep <= limit))
            throw new TaskConfigException(task, "timeStep", string.Create(CultureInfo.InvariantCulture,
                $"is {TimeStep}; allowed range is (0, {limit:G4}] for gridPoints {GridPoints}, order {Order}, maxViscosity {MaxViscosity} and max|c·u₀| {MaxSpeed():G4} (RK4 stability limit × {StabilitySafety}); lower timeStep, gridPoints or maxViscosity."));
    }

    /// <summary>max|u₀|·max|c| over the allowed coefficients: what the advective stability limit must cover.</summary>
    public double MaxSpeed()
    {
        // max over x of sin x / (a + cos x) is 1/√(a² − 1).
        double maxU = 2 * Viscosity / Math.Sqrt(Offset * Offset - 1);
        return maxU * (LearnAdvection ? MaxAdvection : 1);
    }

    /// <summary>RK4's limit at the most demanding allowed coefficients (no safety factor).</summary>
    public double MaxStableTimeStep() => new BurgersSolver(GridPoints, Order).MaxStableTimeStep(MaxViscosity, MaxSpeed());

    public BurgersProblem<T> Build<T>(ulong seed) where T : unmanaged, IFloatingPointIeee754<T> => new(this, seed);
}
