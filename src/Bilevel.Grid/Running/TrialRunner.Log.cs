using Microsoft.Extensions.Logging;

namespace Bilevel.Grid.Running;

public sealed partial class TrialRunner
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Trial {TrialId} attempt {Attempt}: starting {Estimator} for {OuterSteps} outer steps")]
    private static partial void LogStarted(ILogger logger, long trialId, int attempt, string estimator, int outerSteps);

    [LoggerMessage(Level = LogLevel.Information, Message = "Trial {TrialId} attempt {Attempt}: resuming from the checkpoint at outer step {OuterStep} of {OuterSteps}")]
    private static partial void LogResumed(ILogger logger, long trialId, int attempt, int outerStep, int outerSteps);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Trial {TrialId}: checkpoint at outer step {OuterStep}")]
    private static partial void LogCheckpointed(ILogger logger, long trialId, int outerStep);

    [LoggerMessage(Level = LogLevel.Information, Message = "Trial {TrialId}: phase II from outer step {OuterStep}")]
    private static partial void LogPhaseSwitched(ILogger logger, long trialId, long outerStep);

    [LoggerMessage(Level = LogLevel.Information, Message = "Trial {TrialId} attempt {Attempt}: completed {OuterSteps} outer steps; final outer loss {FinalLoss}, best {BestLoss}")]
    private static partial void LogCompleted(ILogger logger, long trialId, int attempt, int outerSteps, double finalLoss, double bestLoss);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Trial {TrialId} attempt {Attempt}: failed at outer step {OuterStep}: {Reason} (retryable: {Retryable})")]
    private static partial void LogFailed(ILogger logger, long trialId, int attempt, int outerStep, string reason, bool retryable);

    [LoggerMessage(Level = LogLevel.Information, Message = "Trial {TrialId}: checkpointed at outer step {OuterStep} and released: {Why}")]
    private static partial void LogReleased(ILogger logger, long trialId, int outerStep, string why);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Trial {TrialId} attempt {Attempt}: lease lost after outer step {OuterStep}; stopped without further writes")]
    private static partial void LogLeaseLost(ILogger logger, long trialId, int attempt, int outerStep);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Trial {TrialId}: its checkpoint was written for another configuration (fingerprint {Stored:x16}, now {Current:x16}); resuming anyway")]
    private static partial void LogFingerprintMismatch(ILogger logger, long trialId, ulong stored, ulong current);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Trial {TrialId}: its checkpoint was computed with {Stored} threads, this worker uses {Current}; the result will not be bit-identical to an uninterrupted run")]
    private static partial void LogThreadsDiffer(ILogger logger, long trialId, int stored, int current);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Store unreachable (attempt {Attempt}); retrying in {Delay}")]
    private static partial void LogStoreUnreachable(ILogger logger, Exception exception, int attempt, TimeSpan delay);
}
