using System.Reflection;
using System.Runtime.InteropServices;

namespace Bilevel.Tensors.Internal.Native;

/// <summary>
/// OpenBLAS entry points. The library is looked up on first use, never at assembly load, so a machine without it
/// (or a run with <c>BILEVEL_BLAS=managed</c>) sees <see cref="IsAvailable"/> false and falls back to managed kernels.
/// </summary>
/// <remarks>
/// OpenBLAS is told to run every call on its caller's thread, once, when it is loaded; callers split large work over
/// <see cref="Kernels.Parallelism"/> instead. OpenBLAS's own threads wait for work spinning on sched_yield, and our
/// kernels keep the cores busy between its calls, so that spinning competed with them: the condensation ConvNet's
/// 2-thread estimates took 2.0–3.0 CPU-seconds for work that takes 1.2 on one thread (1.6 with one pool of threads).
/// Switching the count per call instead leaves its threads spinning after each call.
/// </remarks>
internal static unsafe partial class OpenBlas
{
    // A logical name: the resolver below maps it to whichever file the platform ships, so the
    // [LibraryImport]s never depend on a -dev package's unversioned symlink.
    private const string Library = "bilevel-openblas";

    // CBLAS enum values (cblas.h).
    public const int RowMajor = 101;
    public const int NoTrans = 111;
    public const int Trans = 112;

    private static readonly string[] Candidates = OperatingSystem.IsWindows()
        ? ["libopenblas.dll", "openblas.dll"]
        : OperatingSystem.IsMacOS()
            ? ["libopenblas.0.dylib", "libopenblas.dylib"]
            : ["libopenblas.so.0", "libopenblas.so"];

    private static readonly nint Handle = Load();

    /// <summary>True when OpenBLAS was found, exports the CBLAS GEMMs, and <c>BILEVEL_BLAS</c> is not <c>managed</c>.</summary>
    public static bool IsAvailable => Handle != 0;

    [LibraryImport(Library, EntryPoint = "cblas_sgemm")]
    public static partial void Sgemm(
        int order, int transA, int transB, int m, int n, int k,
        float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc);

    [LibraryImport(Library, EntryPoint = "cblas_dgemm")]
    public static partial void Dgemm(
        int order, int transA, int transB, int m, int n, int k,
        double alpha, double* a, int lda, double* b, int ldb, double beta, double* c, int ldc);

    /// <summary>The kernel family OpenBLAS runs (<c>openblas_get_corename</c>), or null when none is loaded.</summary>
    public static string? CoreName =>
        Handle != 0 && NativeLibrary.TryGetExport(Handle, "openblas_get_corename", out var corename)
            ? Marshal.PtrToStringUTF8(((delegate* unmanaged<nint>)corename)())
            : null;

    /// <summary>The <c>OPENBLAS_CORETYPE</c> the loaded library was started with (the user's or <see cref="OpenBlasCoreType"/>'s), or null.</summary>
    public static string? CoreTypeGiven => Handle != 0 ? OpenBlasCoreType.InEffect : null;

    /// <summary>Whether the loaded library exports <paramref name="symbol"/> (false when none is loaded).</summary>
    public static bool Exports(string symbol) => Handle != 0 && NativeLibrary.TryGetExport(Handle, symbol, out _);

    private static nint Load()
    {
        if (string.Equals(Environment.GetEnvironmentVariable("BILEVEL_BLAS"), "managed", StringComparison.OrdinalIgnoreCase))
            return 0;

        OpenBlasCoreType.ChooseBeforeLoad();
        foreach (var name in Candidates)
        {
            if (!NativeLibrary.TryLoad(name, out var handle))
                continue;
            if (NativeLibrary.TryGetExport(handle, "cblas_sgemm", out _)
                && NativeLibrary.TryGetExport(handle, "cblas_dgemm", out _)
                && NativeLibrary.TryGetExport(handle, "openblas_set_num_threads", out var setNumThreads))
            {
                ((delegate* unmanaged<int, void>)setNumThreads)(1);
                // One resolver per assembly is allowed; native interop lives in this folder, so a second
                // library belongs in this resolver rather than in a competing registration.
                NativeLibrary.SetDllImportResolver(typeof(OpenBlas).Assembly, Resolve);
                return handle;
            }
            NativeLibrary.Free(handle);
        }
        return 0;
    }

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath) =>
        name == Library ? Handle : 0;
}
