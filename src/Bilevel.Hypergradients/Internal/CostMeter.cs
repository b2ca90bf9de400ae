using System.Diagnostics;
using Bilevel.Tensors;

namespace Bilevel.Hypergradients.Internal;

/// <summary>Measures one estimate: elapsed time and the tensor-memory high-water mark above the use at the start.</summary>
internal sealed class CostMeter
{
    private readonly long start = Stopwatch.GetTimestamp();
    private readonly long baseline;

    public CostMeter()
    {
        TensorMemory.ResetPeak();
        baseline = TensorMemory.LiveBytes;
    }

    public int HvpCount { get; set; }

    public int InnerPasses { get; set; }

    public CostReport Report() => new(Stopwatch.GetElapsedTime(start), TensorMemory.PeakBytes - baseline, HvpCount, InnerPasses);
}
