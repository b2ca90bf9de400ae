using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Bilevel.Tensors.Internal.Native;

/// <summary>
/// Names OpenBLAS's kernel family from the CPU's own feature flags, before the library loads, when the user has not
/// (<c>OPENBLAS_CORETYPE</c> unset).
/// </summary>
/// <remarks>
/// A DYNAMIC_ARCH OpenBLAS picks its kernels from a table of CPU models it knew when it was built and runs any newer
/// model on its Prescott (SSE3) kernels: Debian 12's 0.3.21 on a Xeon of family 6, model 207 multiplied float32 at
/// 35 GFLOP/s on 2 threads, 210 with its SkylakeX kernels. The feature flags say what the CPU can run whatever its
/// model: AVX-512 (F, CD, BW, DQ, VL) is what OpenBLAS's SkylakeX kernels need, AVX2 with FMA its Haswell ones, which
/// are the families OpenBLAS itself maps every model it knows with those flags to, for float32 and float64 GEMM.
/// OpenBLAS reads the variable once, in its load-time constructor, so it has to be in the process's native
/// environment (which <see cref="Environment.SetEnvironmentVariable(string, string)"/> does not change on Unix).
/// </remarks>
internal static partial class OpenBlasCoreType
{
    public const string Variable = "OPENBLAS_CORETYPE";

    /// <summary>The value OpenBLAS was (or will be) given: the user's, ours, or null when neither named one.</summary>
    public static string? InEffect { get; private set; } = Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } user ? user : null;

    /// <summary>Sets <c>OPENBLAS_CORETYPE</c> from the CPU's features when nobody has; call before loading OpenBLAS.</summary>
    public static void ChooseBeforeLoad()
    {
        if (InEffect is not null || !OperatingSystem.IsLinux())
            return;
        string? family = FromCpuFeatures();
        if (family is not null && SetEnv(Variable, family, overwrite: 0) == 0)
            InEffect = family;
    }

    private static string? FromCpuFeatures()
    {
        if (Avx512F.IsSupported && Avx512CD.IsSupported && Avx512BW.IsSupported && Avx512DQ.IsSupported && Avx512F.VL.IsSupported)
            return "SkylakeX";
        if (Avx2.IsSupported && Fma.IsSupported)
            return "Haswell";
        return null;
    }

    [LibraryImport("libc.so.6", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);
}
