using System.Numerics;
using Bilevel.Hypergradients;
using Bilevel.Nn.Optimizers;
using Bilevel.Tensors;

namespace Bilevel.Tasks.Pde;

/// <summary>The physical coefficients a φ stands for.</summary>
public readonly record struct BurgersCoefficients(double Viscosity, double Advection);

/// <summary>
/// PDE coefficient discovery as a bilevel problem whose inner problem is a numerical solver used as a black box.
/// φ = [log ν] or [log ν, c]; the outer loss is the relative misfit Σ(u(t_k, x_s; φ) − y_ks)² / Σ y_ks² between the
/// solver's solution and the noisy sensor data y.
/// </summary>
/// <remarks>
/// <para>Shape in the <see cref="IBilevelProblem{T}"/> contract: there is no inner optimisation (the solver is the
/// inner "argmin"), so θ is empty (M = 0), T = 0 and the outer loss runs the solver. h(φ) = f(θ₀, φ) is then exactly
/// what <see cref="InnerDynamics.OuterObjective{T}"/> evaluates, so (FG)²U-ZO —
/// <see cref="Hypergradients.Estimators.ZerothOrder"/>, whose Estimate calls EstimateBlackBox on that objective — and
/// the finite-difference reference <see cref="CentralDifferences"/> run on it unchanged, in the outer loop, the
/// two-phase schedule and the grid alike.</para>
/// <para>The solver is not differentiable: the outer loss refuses to run while derivatives with respect to φ are
/// taken (<see cref="Autodiff.IsDifferentiated{T}"/>: RGU, TRGU, FGU, (FG)²U), and the implicit estimators (HF,
/// Neumann, CG, KFAC) are refused by <see cref="InnerLoss"/>: use fg2u-zo or the reference
/// (<see cref="ApplicableEstimators"/>).</para>
/// <para>Coefficients are clamped to the configured box ([minViscosity, maxViscosity], |c| ≤ maxAdvection) — the box
/// the time step was validated for — so every evaluation is stable; h is flat outside it.</para>
/// </remarks>
public sealed class BurgersProblem<T> : IBilevelProblem<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int[] sensors;
    private readonly double[][] observations;
    private readonly double observationEnergy;

    public BurgersProblem(BurgersConfig config, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config;
        Seed = seed;
        Solver = new BurgersSolver(config.GridPoints, config.Order);
        Grid = Solver.Grid();
        Truth = new ColeHopf(config.Viscosity, config.Offset);
        InitialCondition = Truth.Sample(Grid, 0);
        int n = config.GridPoints;
        // Offset by half a spacing: sin x vanishes at 0 and π, where a sensor would see nothing.
        sensors = Enumerable.Range(0, config.Sensors).Select(s => (int)((s + 0.5) * n / config.Sensors) % n).ToArray();
        var random = new CounterRandom(seed, 0, "pde-noise");
        var clean = config.ObservationTimes.Select(t => sensors.Select(j => Truth.Value(Grid[j], t)).ToArray()).ToArray();
        double rms = Math.Sqrt(clean.SelectMany(x => x).Average(x => x * x));
        observations = clean.Select(row => row.Select(y => y + config.Noise * rms * random.NextGaussian()).ToArray()).ToArray();
        observationEnergy = observations.SelectMany(x => x).Sum(x => x * x);
    }

    /// <summary>The estimators that apply to a black-box inner solver.</summary>
    public static IReadOnlyList<string> ApplicableEstimators { get; } = ["fg2u-zo", "fd-central"];

    public BurgersConfig Config { get; }

    public BurgersSolver Solver { get; }

    public double[] Grid { get; }

    /// <summary>The exact solution the observations were drawn from.</summary>
    public ColeHopf Truth { get; }

    public double[] InitialCondition { get; }

    /// <summary>The grid index of each sensor.</summary>
    public IReadOnlyList<int> Sensors => sensors;

    /// <summary>The noisy sensor data y: one row per observation time, one value per sensor.</summary>
    public IReadOnlyList<IReadOnlyList<double>> Observations => observations;

    public BurgersCoefficients TrueCoefficients => new(Config.Viscosity, 1.0);

    public int InnerSize => 0;

    public int OuterSize => Config.LearnAdvection ? 2 : 1;

    public int UnrollSteps => 0;

    public ulong Seed { get; }

    /// <summary>Never stepped (T = 0); present because the contract asks for one.</summary>
    public IInnerOptimizer Optimizer { get; } = new Sgd();

    public Tensor<T> InitialPhi()
    {
        var phi = Tensor<T>.Zeros(OuterSize);
        phi.Span[0] = T.CreateChecked(Math.Log(Config.InitialViscosity));
        if (Config.LearnAdvection) phi.Span[1] = T.CreateChecked(Config.InitialAdvection);
        return phi;
    }

    public Tensor<T> InitialTheta(long outerStep) => Tensor<T>.Zeros(0);

    public StepSize<T> StepSize(Tensor<T> phi, int step) => throw NoInnerProblem();

    public Tensor<T> InnerLoss(Tensor<T> theta, Tensor<T> phi, long outerStep, int step) => throw NoInnerProblem();

    /// <summary>Runs the solver at φ's coefficients: the relative misfit to the sensor data, as a scalar without derivatives.</summary>
    public Tensor<T> OuterLoss(Tensor<T> theta, Tensor<T> phi, long outerStep)
    {
        ArgumentNullException.ThrowIfNull(phi);
        if (Autodiff.IsDifferentiated(phi))
            throw new NotSupportedException("pde-burgers: the solver is a black box without derivatives; derivative-based estimators do not apply. Use fg2u-zo (or the fd-central reference).");
        return Tensor<T>.Scalar(T.CreateChecked(Misfit(Coefficients(phi))));
    }

    /// <summary>The coefficients of φ, clamped to the configured box.</summary>
    public BurgersCoefficients Coefficients(Tensor<T> phi)
    {
        ArgumentNullException.ThrowIfNull(phi);
        if (phi.Length != OuterSize) throw new ArgumentException($"pde-burgers: φ has {phi.Length} values, expected {OuterSize}.", nameof(phi));
        double nu = Math.Clamp(Math.Exp(double.CreateChecked(phi.Span[0])), Config.MinViscosity, Config.MaxViscosity);
        double c = Config.LearnAdvection ? Math.Clamp(double.CreateChecked(phi.Span[1]), -Config.MaxAdvection, Config.MaxAdvection) : 1.0;
        return new BurgersCoefficients(nu, c);
    }

    /// <summary>u at every observation time on the whole grid, for the given coefficients.</summary>
    public double[][] Solve(BurgersCoefficients coefficients)
        => Solver.Solve(InitialCondition, coefficients.Viscosity, coefficients.Advection, Config.ObservationTimes, Config.TimeStep);

    public double Misfit(BurgersCoefficients coefficients)
    {
        var u = Solve(coefficients);
        double sum = 0;
        for (int k = 0; k < u.Length; k++)
            for (int s = 0; s < sensors.Length; s++)
            {
                double e = u[k][sensors[s]] - observations[k][s];
                sum += e * e;
            }
        return sum / Math.Max(observationEnergy, double.Epsilon);
    }

    /// <summary>Relative L2 errors of the recovered coefficients and of the solution they give (all grid points, all observation times).</summary>
    public BurgersReport Evaluate(Tensor<T> phi)
    {
        var found = Coefficients(phi);
        var truth = TrueCoefficients;
        var u = Solve(found);
        double error = 0, norm = 0;
        for (int k = 0; k < u.Length; k++)
        {
            var exact = Truth.Sample(Grid, Config.ObservationTimes[k]);
            for (int j = 0; j < exact.Length; j++)
            {
                error += (u[k][j] - exact[j]) * (u[k][j] - exact[j]);
                norm += exact[j] * exact[j];
            }
        }
        double dn = found.Viscosity - truth.Viscosity, dc = Config.LearnAdvection ? found.Advection - truth.Advection : 0;
        double coefficientNorm = Config.LearnAdvection ? Math.Sqrt(truth.Viscosity * truth.Viscosity + 1) : truth.Viscosity;
        return new BurgersReport(found, Math.Abs(dn) / truth.Viscosity, Math.Sqrt(dn * dn + dc * dc) / coefficientNorm, Math.Sqrt(error / norm), Misfit(found));
    }

    private static NotSupportedException NoInnerProblem()
        => new("pde-burgers: there is no inner optimisation (T = 0); the solver is the inner problem, used as a black box. Use fg2u-zo (or the fd-central reference).");
}

/// <param name="ViscosityError">|ν − ν*| / ν*.</param>
/// <param name="CoefficientError">ε_φ = ‖φ − φ*‖ / ‖φ*‖ over the physical coefficients learned (ν, or (ν, c)).</param>
/// <param name="SolutionError">ε_u = ‖u − u*‖ / ‖u*‖ over the grid at the observation times, u* the exact solution.</param>
/// <param name="Misfit">The outer loss at these coefficients.</param>
public sealed record BurgersReport(BurgersCoefficients Coefficients, double ViscosityError, double CoefficientError, double SolutionError, double Misfit);
