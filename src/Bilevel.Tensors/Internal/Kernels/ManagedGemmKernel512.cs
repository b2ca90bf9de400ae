using System.Numerics;
using System.Runtime.Intrinsics;

namespace Bilevel.Tensors.Internal.Kernels;

/// <summary>
/// 12×(2 vectors) microkernel on 512-bit vectors: 24 accumulators, 2 loads of B and 12 broadcasts of A per step,
/// 27 of AVX-512's 32 registers, so nothing spills and every FMA is independent of the previous step's
/// (FMA latency 4 × throughput 1–2 per cycle needs at least 8 chains).
/// </summary>
internal readonly unsafe struct ManagedGemmKernel512<T> : IManagedGemmKernel<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int Rows => 12;

    public static int Columns => 2 * Vector512<T>.Count;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, T* a, T* b, T* c, nint ldc, T alpha, T scale)
    {
        Vector512<T> c00 = default, c01 = default;
        Vector512<T> c10 = default, c11 = default;
        Vector512<T> c20 = default, c21 = default;
        Vector512<T> c30 = default, c31 = default;
        Vector512<T> c40 = default, c41 = default;
        Vector512<T> c50 = default, c51 = default;
        Vector512<T> c60 = default, c61 = default;
        Vector512<T> c70 = default, c71 = default;
        Vector512<T> c80 = default, c81 = default;
        Vector512<T> c90 = default, c91 = default;
        Vector512<T> c100 = default, c101 = default;
        Vector512<T> c110 = default, c111 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector512<T> b0 = Vector512.Load(b), b1 = Vector512.Load(b + Vector512<T>.Count), a0;
            a0 = Vector512.Create(a[0]); c00 = Fma(a0, b0, c00); c01 = Fma(a0, b1, c01);
            a0 = Vector512.Create(a[1]); c10 = Fma(a0, b0, c10); c11 = Fma(a0, b1, c11);
            a0 = Vector512.Create(a[2]); c20 = Fma(a0, b0, c20); c21 = Fma(a0, b1, c21);
            a0 = Vector512.Create(a[3]); c30 = Fma(a0, b0, c30); c31 = Fma(a0, b1, c31);
            a0 = Vector512.Create(a[4]); c40 = Fma(a0, b0, c40); c41 = Fma(a0, b1, c41);
            a0 = Vector512.Create(a[5]); c50 = Fma(a0, b0, c50); c51 = Fma(a0, b1, c51);
            a0 = Vector512.Create(a[6]); c60 = Fma(a0, b0, c60); c61 = Fma(a0, b1, c61);
            a0 = Vector512.Create(a[7]); c70 = Fma(a0, b0, c70); c71 = Fma(a0, b1, c71);
            a0 = Vector512.Create(a[8]); c80 = Fma(a0, b0, c80); c81 = Fma(a0, b1, c81);
            a0 = Vector512.Create(a[9]); c90 = Fma(a0, b0, c90); c91 = Fma(a0, b1, c91);
            a0 = Vector512.Create(a[10]); c100 = Fma(a0, b0, c100); c101 = Fma(a0, b1, c101);
            a0 = Vector512.Create(a[11]); c110 = Fma(a0, b0, c110); c111 = Fma(a0, b1, c111);
            a += 12;
            b += 2 * Vector512<T>.Count;
        }

        var va = Vector512.Create(alpha);
        Store(c + 0 * ldc, c00, c01, va, scale);
        Store(c + 1 * ldc, c10, c11, va, scale);
        Store(c + 2 * ldc, c20, c21, va, scale);
        Store(c + 3 * ldc, c30, c31, va, scale);
        Store(c + 4 * ldc, c40, c41, va, scale);
        Store(c + 5 * ldc, c50, c51, va, scale);
        Store(c + 6 * ldc, c60, c61, va, scale);
        Store(c + 7 * ldc, c70, c71, va, scale);
        Store(c + 8 * ldc, c80, c81, va, scale);
        Store(c + 9 * ldc, c90, c91, va, scale);
        Store(c + 10 * ldc, c100, c101, va, scale);
        Store(c + 11 * ldc, c110, c111, va, scale);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(T* c, Vector512<T> tile0, Vector512<T> tile1, Vector512<T> alpha, T scale)
    {
        T* c1 = c + Vector512<T>.Count;
        if (scale == T.Zero)
        {
            (alpha * tile0).Store(c);
            (alpha * tile1).Store(c1);
        }
        else
        {
            Fma(alpha, tile0, Vector512.Load(c) * scale).Store(c);
            Fma(alpha, tile1, Vector512.Load(c1) * scale).Store(c1);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> Fma(Vector512<T> x, Vector512<T> y, Vector512<T> z)
    {
        if (typeof(T) == typeof(float))
            return Vector512.FusedMultiplyAdd(x.AsSingle(), y.AsSingle(), z.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Vector512.FusedMultiplyAdd(x.AsDouble(), y.AsDouble(), z.AsDouble()).As<double, T>();
        throw new NotSupportedException();
    }
}
