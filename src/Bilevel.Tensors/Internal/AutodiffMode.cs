namespace Bilevel.Tensors.Internal;

/// <summary>
/// Per-thread switches for what an op does besides computing its value. While derivative rules run, ops must neither
/// record on the tape (they are not part of the user's function) nor, when the rule computes tangents, propagate
/// tangents of their own (a tangent has no tangent). Pullbacks, in contrast, do propagate tangents: that is what
/// makes Jvp(Grad(f)) a Hessian-vector product.
/// </summary>
internal static class AutodiffMode
{
    [ThreadStatic] private static int recordingOff;
    [ThreadStatic] private static int tangentsOff;

    public static bool Recording => recordingOff == 0;

    public static bool PropagatingTangents => tangentsOff == 0;

    public static Switch NoRecording()
    {
        recordingOff++;
        return new Switch(tangents: false);
    }

    /// <summary>Neither record nor propagate tangents: the ops are plain array arithmetic.</summary>
    public static Switch PlainArithmetic()
    {
        recordingOff++;
        tangentsOff++;
        return new Switch(tangents: true);
    }

    public readonly struct Switch(bool tangents) : IDisposable
    {
        public void Dispose()
        {
            recordingOff--;
            if (tangents) tangentsOff--;
        }
    }
}
