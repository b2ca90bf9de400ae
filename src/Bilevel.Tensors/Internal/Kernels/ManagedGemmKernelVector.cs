using System.Numerics;

namespace Bilevel.Tensors.Internal.Kernels;

/// <summary>
/// 6×(2 vectors) microkernel on <see cref="Vector{T}"/>: 12 accumulators + 2 loads of B + 1 broadcast of A fill
/// the 16 registers of AVX2 without spilling. The fallback where 512-bit vectors are not accelerated.
/// </summary>
internal readonly unsafe struct ManagedGemmKernelVector<T> : IManagedGemmKernel<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int Rows => 6;

    public static int Columns => 2 * Vector<T>.Count;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, T* a, T* b, T* c, nint ldc, T alpha, T scale)
    {
        Vector<T> c00 = default, c01 = default;
        Vector<T> c10 = default, c11 = default;
        Vector<T> c20 = default, c21 = default;
        Vector<T> c30 = default, c31 = default;
        Vector<T> c40 = default, c41 = default;
        Vector<T> c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector<T> b0 = Vector.Load(b), b1 = Vector.Load(b + Vector<T>.Count), a0;
            a0 = new Vector<T>(a[0]); c00 = Fma(a0, b0, c00); c01 = Fma(a0, b1, c01);
            a0 = new Vector<T>(a[1]); c10 = Fma(a0, b0, c10); c11 = Fma(a0, b1, c11);
            a0 = new Vector<T>(a[2]); c20 = Fma(a0, b0, c20); c21 = Fma(a0, b1, c21);
            a0 = new Vector<T>(a[3]); c30 = Fma(a0, b0, c30); c31 = Fma(a0, b1, c31);
            a0 = new Vector<T>(a[4]); c40 = Fma(a0, b0, c40); c41 = Fma(a0, b1, c41);
            a0 = new Vector<T>(a[5]); c50 = Fma(a0, b0, c50); c51 = Fma(a0, b1, c51);
            a += 6;
            b += 2 * Vector<T>.Count;
        }

        var va = new Vector<T>(alpha);
        Store(c + 0 * ldc, c00, c01, va, scale);
        Store(c + 1 * ldc, c10, c11, va, scale);
        Store(c + 2 * ldc, c20, c21, va, scale);
        Store(c + 3 * ldc, c30, c31, va, scale);
        Store(c + 4 * ldc, c40, c41, va, scale);
        Store(c + 5 * ldc, c50, c51, va, scale);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(T* c, Vector<T> tile0, Vector<T> tile1, Vector<T> alpha, T scale)
    {
        T* c1 = c + Vector<T>.Count;
        if (scale == T.Zero)
        {
            (alpha * tile0).Store(c);
            (alpha * tile1).Store(c1);
        }
        else
        {
            Fma(alpha, tile0, Vector.Load(c) * scale).Store(c);
            Fma(alpha, tile1, Vector.Load(c1) * scale).Store(c1);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<T> Fma(Vector<T> x, Vector<T> y, Vector<T> z)
    {
        if (typeof(T) == typeof(float))
            return Vector.As<float, T>(Vector.FusedMultiplyAdd(Vector.As<T, float>(x), Vector.As<T, float>(y), Vector.As<T, float>(z)));
        if (typeof(T) == typeof(double))
            return Vector.As<double, T>(Vector.FusedMultiplyAdd(Vector.As<T, double>(x), Vector.As<T, double>(y), Vector.As<T, double>(z)));
        throw new NotSupportedException();
    }
}
