using System.Numerics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Bilevel.Hypergradients;
using Bilevel.Hypergradients.Estimators;
using Bilevel.Nn.Optimizers;
using Bilevel.Tasks;
using Bilevel.Tasks.Config;
using Bilevel.Tensors;

namespace Bilevel.Grid.Running.Internal;

/// <summary>A summary of the final φ for a trial's result: size, range, norm, the first values and a digest of its bits.</summary>
internal sealed record PhiSummary(int Size, double L2Norm, double Min, double Max, double Mean, double[] Head, string Sha256);

/// <summary>
/// One trial's live state, precision-independent for its caller: the problem, the estimator, the outer optimizer,
/// φ and the outer loop. Every computation runs under the trial's thread limit on the calling thread; the runner
/// calls one method at a time.
/// </summary>
internal interface ITrialExecution : IDisposable
{
    string EstimatorName { get; }

    TwoPhaseSchedule? Schedule { get; }

    /// <summary>The phase whose estimator the next step uses (1 for single estimators).</summary>
    int PhaseAt(long outerStep);

    OuterStepResult Step(long outerStep);

    /// <summary>h(φ) at outer step k's randomness by one forward run.</summary>
    double OuterLoss(long outerStep);

    void Restore(TrialCheckpoint checkpoint);

    TrialCheckpoint Capture(int outerStep, double bestLoss, int bestStep, ulong fingerprint);

    PhiSummary Summarize();
}

internal static class TrialExecution
{
    /// <exception cref="TrialConfigException">The task, estimator or settings refuse the configuration.</exception>
    public static ITrialExecution Create(TrialConfiguration configuration, int threads) =>
        configuration.Outer.Precision == TrialPrecision.Float32
            ? new TrialExecution<float>(configuration, threads)
            : new TrialExecution<double>(configuration, threads);
}

internal sealed class TrialExecution<T> : ITrialExecution where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly IBilevelProblem<T> _problem;
    private readonly IHypergradientEstimator _estimator;
    private readonly OuterOptimizer _optimizer;
    private readonly OuterLoop<T> _loop;
    private readonly int _threads;
    private readonly TrialPrecision _precision;
    private Tensor<T> _phi;

    public TrialExecution(TrialConfiguration configuration, int threads)
    {
        _threads = threads;
        _precision = configuration.Outer.Precision;
        using var limit = TensorEngine.LimitThreads(threads);
        _estimator = EstimatorFactory.Create(configuration);
        try
        {
            _problem = TaskCatalog.Create<T>(configuration.TaskKind, configuration.TaskConfig, unchecked((ulong)configuration.Seed));
        }
        catch (TaskConfigException e)
        {
            var field = e.Field is "kind" ? "task.kind" : "task.config" + (e.Field is "$" or "" ? "" : "." + e.Field.TrimStart('$', '.'));
            throw configuration.Origins.Error(field, TaskProblem(e));
        }
        catch (ArgumentException e) when (e is not TrialConfigException)
        {
            throw configuration.Origins.Error("task.config", $"is refused by task '{configuration.TaskKind}': {e.Message}");
        }
        if (EstimatorFactory.NeedsKfacProblem(_estimator) && _problem is not IKfacProblem<T>)
            throw configuration.Origins.Error(configuration.Schedule is null ? "estimator.name" : "schedule",
                $"uses kfac, which needs a task whose problem exposes its model and minibatch (IKfacProblem); task '{configuration.TaskKind}' does not.");
        _optimizer = configuration.Outer.CreateOptimizer();
        _loop = new OuterLoop<T>(_problem, _estimator, _optimizer, configuration.Outer.CreateDiagnostics());
        _phi = _problem.InitialPhi();
        if (_phi.Length != _problem.OuterSize)
            throw new InvalidOperationException($"Task '{configuration.TaskKind}' made an initial φ of {_phi.Length} values for {_problem.OuterSize} outer variables.");
    }

    public string EstimatorName => _estimator.Name;

    public TwoPhaseSchedule? Schedule => _estimator as TwoPhaseSchedule;

    public int PhaseAt(long outerStep) => Schedule is { SwitchStep: { } s } && outerStep >= s ? 2 : 1;

    public OuterStepResult Step(long outerStep)
    {
        using var limit = TensorEngine.LimitThreads(_threads);
        return _loop.Step(_phi, outerStep);
    }

    public double OuterLoss(long outerStep)
    {
        using var limit = TensorEngine.LimitThreads(_threads);
        using var scope = TensorScope.Begin();
        return InnerDynamics.OuterObjective(_problem, _phi, outerStep).ItemAsDouble();
    }

    public void Restore(TrialCheckpoint checkpoint)
    {
        if (checkpoint.Precision != _precision)
            throw new CheckpointFormatException($"the checkpoint holds {checkpoint.Precision} values; the trial computes in {_precision}.");
        if (checkpoint.PhiLength != _problem.OuterSize)
            throw new CheckpointFormatException($"the checkpoint's φ has {checkpoint.PhiLength} values; the trial's problem has {_problem.OuterSize}.");
        var phi = Tensor<T>.FromSpan(MemoryMarshal.Cast<byte, T>(checkpoint.Phi), _phi.Shape);
        _phi.Dispose();
        _phi = phi;
        try
        {
            _optimizer.Restore(checkpoint.OptimizerSteps, [.. checkpoint.OptimizerBuffers]);
        }
        catch (ArgumentException e)
        {
            throw new CheckpointFormatException($"the outer optimizer's state does not fit this trial's optimizer: {e.Message}");
        }
        if (Schedule is { } schedule)
        {
            schedule.Restore(checkpoint.Schedule ?? throw new CheckpointFormatException("the trial runs a two-phase schedule; the checkpoint has no schedule state."));
            RestoreKfac(schedule.PhaseOne, "phase1", checkpoint);
            RestoreKfac(schedule.PhaseTwo, "phase2", checkpoint);
        }
        else
        {
            RestoreKfac(_estimator, "estimator", checkpoint);
        }
    }

    public TrialCheckpoint Capture(int outerStep, double bestLoss, int bestStep, ulong fingerprint)
    {
        var kfac = new Dictionary<string, KfacState>(StringComparer.Ordinal);
        if (Schedule is { } schedule)
        {
            CaptureKfac(schedule.PhaseOne, "phase1", kfac);
            CaptureKfac(schedule.PhaseTwo, "phase2", kfac);
        }
        else
        {
            CaptureKfac(_estimator, "estimator", kfac);
        }
        return new TrialCheckpoint
        {
            OuterStep = outerStep,
            Precision = _precision,
            Threads = _threads,
            Fingerprint = fingerprint,
            BestLoss = bestLoss,
            BestStep = bestStep,
            Phi = MemoryMarshal.AsBytes(_phi.Span).ToArray(),
            OptimizerSteps = _optimizer.Steps,
            OptimizerBuffers = _optimizer.ExportBuffers(),
            Schedule = Schedule?.State,
            KfacStates = kfac,
        };
    }

    public PhiSummary Summarize()
    {
        var span = _phi.Span;
        double sum = 0, squares = 0, min = double.PositiveInfinity, max = double.NegativeInfinity;
        foreach (var x in span)
        {
            var v = double.CreateChecked(x);
            sum += v;
            squares += v * v;
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }
        var head = new double[Math.Min(8, span.Length)];
        for (var i = 0; i < head.Length; i++)
            head[i] = double.CreateChecked(span[i]);
        var digest = Convert.ToHexStringLower(SHA256.HashData(MemoryMarshal.AsBytes(span)));
        return new PhiSummary(span.Length, Math.Sqrt(squares), span.Length == 0 ? 0 : min, span.Length == 0 ? 0 : max,
            span.Length == 0 ? 0 : sum / span.Length, head, digest);
    }

    public void Dispose()
    {
        _phi.Dispose();
        (_problem as IDisposable)?.Dispose();
    }

    private static string TaskProblem(TaskConfigException e)
    {
        // The task's message reads "task: field 'x' problem"; keep the problem, the field is named by the caller.
        var marker = $"field '{e.Field}' ";
        var at = e.Message.IndexOf(marker, StringComparison.Ordinal);
        return at >= 0 ? e.Message[(at + marker.Length)..] : e.Message;
    }

    private static void RestoreKfac(IHypergradientEstimator estimator, string role, TrialCheckpoint checkpoint)
    {
        if (estimator is Kfac kfac)
            kfac.Restore(checkpoint.KfacStates.GetValueOrDefault(role));
    }

    private static void CaptureKfac(IHypergradientEstimator estimator, string role, Dictionary<string, KfacState> states)
    {
        if (estimator is Kfac { State: { } state })
            states[role] = state;
    }
}
