using System.Runtime.Intrinsics.X86;
using Bilevel.Tensors.Internal.Native;

namespace Bilevel.Tensors.Tests;

public class OpenBlasCoreTypeTests
{
    /// <summary>
    /// The failure this guards against: OpenBLAS 0.3.21 ran a CPU model newer than its table on its SSE3 (Prescott)
    /// kernels, 6× slower than the AVX-512 ones that CPU runs. Where the CPU has AVX2 and the user named no core, the
    /// loaded library must run the family the engine named from the CPU's features.
    /// </summary>
    [Fact]
    public void OpenBlas_runs_the_kernel_family_named_from_the_cpu_features()
    {
        if (!OperatingSystem.IsLinux() || !Avx2.IsSupported || !Fma.IsSupported)
            return; // the engine names no family there: OpenBLAS's own detection is all there is
        Assert.True(OpenBlas.IsAvailable, "OpenBLAS (libopenblas0, installed with python3-torch) did not load");
        if (Environment.GetEnvironmentVariable(OpenBlasCoreType.Variable) is { Length: > 0 })
            return; // the user's choice, passed through untouched

        bool avx512 = Avx512F.IsSupported && Avx512CD.IsSupported && Avx512BW.IsSupported && Avx512DQ.IsSupported && Avx512F.VL.IsSupported;
        string expected = avx512 ? "SkylakeX" : "Haswell";
        Assert.Equal(expected, OpenBlas.CoreTypeGiven);
        Assert.Equal(expected, OpenBlas.CoreName, ignoreCase: true);
    }
}
