using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Bilevel.Tensors.Internal.Kernels;

/// <summary>
/// The column matrix of a convolution, one input channel at a time: row (r, s) of channel c holds, for every output
/// pixel (i, j), the input element under kernel tap (r, s), or zero in the padding. <see cref="Pack"/> builds it
/// (im2col); <see cref="Unpack"/> adds such rows back onto the image (col2im, the adjoint). At stride 1 each output
/// row is one contiguous run of an input row; the runs are short (7 to 28 elements in a small ConvNet), so they are
/// moved with a few whole vectors rather than a general copy.
/// </summary>
internal static class Im2Col
{
    /// <summary>
    /// Writes the Kh·Kw rows of input channel <paramref name="plane"/> (H·W elements) to <paramref name="col"/>: row
    /// r·Kw + s starts at (r·Kw + s)·<paramref name="ld"/> and has Ho·Wo elements.
    /// </summary>
    public static void Pack<T>(ReadOnlySpan<T> plane, Span<T> col, int ld, in ConvGeometry g)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckLengths(plane.Length, col.Length, ld, g);
        int wo = g.Wo, stride = g.Stride;
        ref T source = ref MemoryMarshal.GetReference(plane);
        ref T destination = ref MemoryMarshal.GetReference(col);
        for (int r = 0; r < g.Kh; r++)
        {
            for (int s = 0; s < g.Kw; s++)
            {
                ref T row = ref Unsafe.Add(ref destination, (r * g.Kw + s) * ld);
                var (jlo, jhi) = ValidColumns(g, s);
                int run = jhi - jlo;
                int iw0 = jlo * stride - g.PadLeft + s;
                for (int i = 0, ih = r - g.PadTop; i < g.Ho; i++, ih += stride)
                {
                    ref T d = ref Unsafe.Add(ref row, i * wo);
                    if ((uint)ih >= (uint)g.H)
                    {
                        MemoryMarshal.CreateSpan(ref d, wo).Clear();
                        continue;
                    }
                    ref T src = ref Unsafe.Add(ref source, ih * g.W + iw0);
                    for (int j = 0; j < jlo; j++) Unsafe.Add(ref d, j) = T.Zero;
                    if (stride == 1)
                        Copy(ref src, ref Unsafe.Add(ref d, jlo), run);
                    else
                        for (int j = 0; j < run; j++) Unsafe.Add(ref d, jlo + j) = Unsafe.Add(ref src, j * stride);
                    for (int j = jhi; j < wo; j++) Unsafe.Add(ref d, j) = T.Zero;
                }
            }
        }
    }

    /// <summary>The adjoint of <see cref="Pack"/>: adds the Kh·Kw rows of one channel onto <paramref name="plane"/>.</summary>
    public static void Unpack<T>(ReadOnlySpan<T> col, int ld, Span<T> plane, in ConvGeometry g)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckLengths(plane.Length, col.Length, ld, g);
        int wo = g.Wo, stride = g.Stride;
        ref T source = ref MemoryMarshal.GetReference(col);
        ref T destination = ref MemoryMarshal.GetReference(plane);
        for (int r = 0; r < g.Kh; r++)
        {
            for (int s = 0; s < g.Kw; s++)
            {
                ref T row = ref Unsafe.Add(ref source, (r * g.Kw + s) * ld);
                var (jlo, jhi) = ValidColumns(g, s);
                int run = jhi - jlo;
                if (run == 0) continue;
                int iw0 = jlo * stride - g.PadLeft + s;
                for (int i = 0, ih = r - g.PadTop; i < g.Ho; i++, ih += stride)
                {
                    if ((uint)ih >= (uint)g.H) continue;
                    ref T src = ref Unsafe.Add(ref row, i * wo + jlo);
                    ref T dst = ref Unsafe.Add(ref destination, ih * g.W + iw0);
                    if (stride == 1)
                        AddTo(ref src, ref dst, run);
                    else
                        for (int j = 0; j < run; j++) Unsafe.Add(ref dst, j * stride) += Unsafe.Add(ref src, j);
                }
            }
        }
    }

    /// <summary>Output columns [lo, hi) whose tap s falls inside the input row: 0 ≤ j·stride − PadLeft + s &lt; W.</summary>
    private static (int Lo, int Hi) ValidColumns(in ConvGeometry g, int s)
    {
        int lo = Math.Min(g.Wo, CeilDiv(Math.Max(0, g.PadLeft - s), g.Stride));
        int hi = Math.Min(g.Wo, CeilDiv(Math.Max(0, g.W + g.PadLeft - s), g.Stride));
        return (lo, Math.Max(lo, hi));
    }

    private static int CeilDiv(int a, int b) => (a + b - 1) / b;

    /// <summary>The unchecked loops above stay inside both spans when these hold.</summary>
    private static void CheckLengths(int planeLength, int colLength, int ld, in ConvGeometry g)
    {
        if (planeLength < g.H * g.W || ld < g.P || colLength < (g.Kh * g.Kw - 1) * ld + g.P)
            throw new ArgumentException($"im2col: a plane of {planeLength} and columns of {colLength} (row stride {ld}) do not fit {g}.");
    }

    /// <summary>dst[0..n) = src[0..n) for short runs: whole vectors, the last one overlapping the one before.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Copy<T>(ref T src, ref T dst, int n) where T : unmanaged
    {
        if (Vector256.IsHardwareAccelerated && n >= Vector256<T>.Count)
        {
            int width = Vector256<T>.Count, k = 0;
            for (; k <= n - width; k += width) Vector256.LoadUnsafe(ref src, (nuint)k).StoreUnsafe(ref dst, (nuint)k);
            if (k < n) Vector256.LoadUnsafe(ref src, (nuint)(n - width)).StoreUnsafe(ref dst, (nuint)(n - width));
        }
        else if (Vector128.IsHardwareAccelerated && n >= Vector128<T>.Count)
        {
            // Here n < 2·width, so two vectors cover the run.
            int width = Vector128<T>.Count;
            Vector128.LoadUnsafe(ref src).StoreUnsafe(ref dst);
            Vector128.LoadUnsafe(ref src, (nuint)(n - width)).StoreUnsafe(ref dst, (nuint)(n - width));
        }
        else
        {
            for (int k = 0; k < n; k++) Unsafe.Add(ref dst, k) = Unsafe.Add(ref src, k);
        }
    }

    /// <summary>dst[0..n) += src[0..n), each element once, in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddTo<T>(ref T src, ref T dst, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; k <= n - Vector256<T>.Count; k += Vector256<T>.Count)
                (Vector256.LoadUnsafe(ref dst, (nuint)k) + Vector256.LoadUnsafe(ref src, (nuint)k)).StoreUnsafe(ref dst, (nuint)k);
        if (Vector128.IsHardwareAccelerated)
            for (; k <= n - Vector128<T>.Count; k += Vector128<T>.Count)
                (Vector128.LoadUnsafe(ref dst, (nuint)k) + Vector128.LoadUnsafe(ref src, (nuint)k)).StoreUnsafe(ref dst, (nuint)k);
        for (; k < n; k++) Unsafe.Add(ref dst, k) += Unsafe.Add(ref src, k);
    }
}
