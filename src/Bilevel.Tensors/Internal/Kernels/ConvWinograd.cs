using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Bilevel.Tensors.Internal.Kernels;

/// <summary>
/// 3×3 stride-1 convolutions by Winograd's minimal filtering F(2×2, 3×3) (Lavin &amp; Gray 2016): each 2×2 block of
/// outputs is Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A for its 4×4 input patch d, so the channel sums become 16 GEMMs
/// [Cout, Cin]·[Cin, tiles], one per position ξ of the 4×4 transform, with 2.25 times fewer multiply-adds than
/// im2col. The transposed convolution is the same computation with the kernel rotated and its channel axes swapped;
/// the weight gradient is the exact adjoint (the GEMMs transposed, then Gᵀ·Ū·G). Images go in groups so that each
/// GEMM has enough columns; transforms run in parallel over (image, channel) with a fixed partition, so results
/// repeat bit for bit.
/// </summary>
internal static class ConvWinograd
{
    /// <summary>Below this many input or output channels the transforms cost more than the multiplications saved.</summary>
    public const int MinChannels = 16;

    /// <summary>Tiles (GEMM columns) per group of images.</summary>
    private const int MinGemmColumns = 512;

    /// <summary>Largest transformed input or output built at once, in elements.</summary>
    private const int TransformBudget = 1 << 21;

    private const int MinParallelElements = 1 << 13;

    /// <summary>
    /// Below this many 2×2 tiles per plane the transforms, and the cut-off halves of edge tiles (a 7×7 plane pays for
    /// 8×8), cost more than the multiplications saved: measured on the ConvNet, 14×14 planes run 2–2.5 times faster
    /// than im2col, 7×7 planes slower.
    /// </summary>
    public const int MinTilesPerPlane = 36;

    /// <summary>Whether a convolution of this geometry (and its transposed and weight-gradient ops) goes this way.</summary>
    public static bool Applies(in ConvGeometry g) =>
        g.Kh == 3 && g.Kw == 3 && g.Stride == 1 && g.C >= MinChannels && g.O >= MinChannels
        && (g.Ho + 1) / 2 * ((g.Wo + 1) / 2) >= MinTilesPerPlane && (g.H + 1) / 2 * ((g.W + 1) / 2) >= MinTilesPerPlane;

    /// <summary>y = conv(x, w) + bias, as <see cref="Conv2dKernels.Forward{T}"/>.</summary>
    public static void Forward<T>(NativeBuffer<T> x, NativeBuffer<T> w, NativeBuffer<T>? bias, NativeBuffer<T> y, ConvGeometry g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var u = BufferPool<T>.Rent(16 * g.O * g.C);
        try
        {
            TransformWeights(w, u, g.O, g.C, rotate: false);
            Run(x, g.N, g.C, g.H, g.W, u, g.O, g.PadTop, g.PadLeft, g.Ho, g.Wo, bias, y);
        }
        finally
        {
            BufferPool<T>.Return(u);
        }
    }

    /// <summary>
    /// gx = convᵀ(gy, w): the correlation of gy with the kernel rotated by 180° and its channel axes swapped,
    /// padded by 2 − pad so that each input pixel sees every output its taps reached.
    /// </summary>
    public static void InputGrad<T>(NativeBuffer<T> gy, NativeBuffer<T> w, NativeBuffer<T> gx, ConvGeometry g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var u = BufferPool<T>.Rent(16 * g.O * g.C);
        try
        {
            TransformWeights(w, u, g.O, g.C, rotate: true);
            Run(gy, g.N, g.O, g.Ho, g.Wo, u, g.C, 2 - g.PadTop, 2 - g.PadLeft, g.H, g.W, null, gx);
        }
        finally
        {
            BufferPool<T>.Return(u);
        }
    }

    /// <summary>gw = Σₙ the adjoint of <see cref="Forward{T}"/> in w, summed group after group.</summary>
    public static void WeightGrad<T>(NativeBuffer<T> x, NativeBuffer<T> gy, NativeBuffer<T> gw, ConvGeometry g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int cin = g.C, cout = g.O;
        int tilesH = (g.Ho + 1) / 2, tilesW = (g.Wo + 1) / 2, perImage = tilesH * tilesW;
        int group = GroupSize(perImage, Math.Max(cin, cout), g.N);
        var v = BufferPool<T>.Rent(16 * cin * group * perImage);
        var mbar = BufferPool<T>.Rent(16 * cout * group * perImage);
        var ubar = BufferPool<T>.Rent(16 * cout * cin);
        try
        {
            for (int n0 = 0; n0 < g.N; n0 += group)
            {
                int nb = Math.Min(group, g.N - n0), tiles = nb * perImage, start = n0;
                Parallelism.For(nb * cin, MinChunk(16 * perImage), (from, to) =>
                {
                    var scratch = BufferPool<T>.Rent(ScratchLength(tilesH, tilesW));
                    for (int item = from; item < to; item++)
                    {
                        int i = item / cin, c = item % cin;
                        TransformInput(x.AsSpan(((start + i) * cin + c) * g.H * g.W, g.H * g.W), g.H, g.W, g.PadTop, g.PadLeft, tilesH, tilesW,
                            v, c * tiles + i * perImage, cin * tiles, scratch.Span);
                    }
                    BufferPool<T>.Return(scratch);
                });
                Parallelism.For(nb * cout, MinChunk(16 * perImage), (from, to) =>
                {
                    for (int item = from; item < to; item++)
                    {
                        int i = item / cout, o = item % cout;
                        TransformOutputAdjoint(gy.AsSpan(((start + i) * cout + o) * g.Ho * g.Wo, g.Ho * g.Wo), g.Ho, g.Wo, tilesH, tilesW,
                            mbar, o * tiles + i * perImage, cout * tiles);
                    }
                });
                T beta = n0 == 0 ? T.Zero : T.One;
                ForEachPosition(xi =>
                    Gemm.Multiply(false, true, cout, cin, tiles, T.One, mbar.AsSpan(xi * cout * tiles, cout * tiles), tiles,
                        v.AsSpan(xi * cin * tiles, cin * tiles), tiles, beta, ubar.AsSpan(xi * cout * cin, cout * cin), cin));
            }
            if (g.N == 0) ubar.AsSpan(0, 16 * cout * cin).Clear();
            TransformWeightsAdjoint(ubar, gw, cout, cin);
        }
        finally
        {
            BufferPool<T>.Return(v);
            BufferPool<T>.Return(mbar);
            BufferPool<T>.Return(ubar);
        }
    }

    /// <summary>
    /// Runs the 16 products of a group, one per transform position ξ, spread whole over the threads, each on one
    /// thread: a group then pays one fork-join instead of sixteen, and products too small to split (the weight
    /// gradient's 32×32×539 of the 32-wide ConvNet) no longer run on the calling thread alone.
    /// </summary>
    private static void ForEachPosition(Action<int> product) =>
        Parallelism.For(16, 1, (from, to) =>
        {
            using var oneThread = TensorEngine.LimitThreads(1);
            for (int xi = from; xi < to; xi++) product(xi);
        });

    /// <summary>
    /// y [N, cout, hout, wout] = the correlation of input [N, cin, hin, win] (zero outside) with the kernel whose
    /// transform is u [16, cout, cin], output (i, j) reading input (i − padTop + r, j − padLeft + s); plus bias.
    /// </summary>
    private static void Run<T>(NativeBuffer<T> input, int n, int cin, int hin, int win, NativeBuffer<T> u, int cout, int padTop, int padLeft, int hout, int wout, NativeBuffer<T>? bias, NativeBuffer<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int tilesH = (hout + 1) / 2, tilesW = (wout + 1) / 2, perImage = tilesH * tilesW;
        int group = GroupSize(perImage, Math.Max(cin, cout), n);
        var v = BufferPool<T>.Rent(16 * cin * group * perImage);
        var m = BufferPool<T>.Rent(16 * cout * group * perImage);
        try
        {
            for (int n0 = 0; n0 < n; n0 += group)
            {
                int nb = Math.Min(group, n - n0), tiles = nb * perImage, start = n0;
                Parallelism.For(nb * cin, MinChunk(16 * perImage), (from, to) =>
                {
                    var scratch = BufferPool<T>.Rent(ScratchLength(tilesH, tilesW));
                    for (int item = from; item < to; item++)
                    {
                        int i = item / cin, c = item % cin;
                        TransformInput(input.AsSpan(((start + i) * cin + c) * hin * win, hin * win), hin, win, padTop, padLeft, tilesH, tilesW,
                            v, c * tiles + i * perImage, cin * tiles, scratch.Span);
                    }
                    BufferPool<T>.Return(scratch);
                });
                ForEachPosition(xi =>
                    Gemm.Multiply(false, false, cout, tiles, cin, T.One, u.AsSpan(xi * cout * cin, cout * cin), cin,
                        v.AsSpan(xi * cin * tiles, cin * tiles), tiles, T.Zero, m.AsSpan(xi * cout * tiles, cout * tiles), tiles));
                Parallelism.For(nb * cout, MinChunk(16 * perImage), (from, to) =>
                {
                    for (int item = from; item < to; item++)
                    {
                        int i = item / cout, o = item % cout;
                        TransformOutput(m, o * tiles + i * perImage, cout * tiles, tilesH, tilesW,
                            y.AsSpan(((start + i) * cout + o) * hout * wout, hout * wout), hout, wout, bias is { } b ? b[o] : T.Zero);
                    }
                });
            }
        }
        finally
        {
            BufferPool<T>.Return(v);
            BufferPool<T>.Return(m);
        }
    }

    /// <summary>
    /// V[ξ][offset + tile] = (Bᵀ d B)[ξ] for each 4×4 patch d of one input plane (zeros outside), ξ planes
    /// <paramref name="stride"/> apart. Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]. The plane is first copied into
    /// a zero-bordered scratch plane covering every patch, so the tile loop reads without bounds tests.
    /// </summary>
    private static void TransformInput<T>(ReadOnlySpan<T> plane, int h, int w, int padTop, int padLeft, int tilesH, int tilesW, NativeBuffer<T> v, int offset, int stride, Span<T> scratch)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int ph = 2 * tilesH + 2, pw = 2 * tilesW + 2;
        {
            var padded = scratch[..(ph * pw)];
            Embed(plane, h, w, padTop, padLeft, padded, ph, pw);
            ref T source = ref MemoryMarshal.GetReference(padded);
            ref T target = ref MemoryMarshal.GetReference(v.Span);
            nint s1 = stride, s4 = 4 * (nint)stride;
            for (int a = 0; a < tilesH; a++)
            {
                for (int b = 0; b < tilesW; b++)
                {
                    ref T d = ref Unsafe.Add(ref source, 2 * a * pw + 2 * b);
                    ref T r1 = ref Unsafe.Add(ref d, pw);
                    ref T r2 = ref Unsafe.Add(ref d, 2 * pw);
                    ref T r3 = ref Unsafe.Add(ref d, 3 * pw);
                    // Bᵀ d, column by column.
                    T a0 = d - r2, a1 = Unsafe.Add(ref d, 1) - Unsafe.Add(ref r2, 1), a2 = Unsafe.Add(ref d, 2) - Unsafe.Add(ref r2, 2), a3 = Unsafe.Add(ref d, 3) - Unsafe.Add(ref r2, 3);
                    T b0 = r1 + r2, b1 = Unsafe.Add(ref r1, 1) + Unsafe.Add(ref r2, 1), b2 = Unsafe.Add(ref r1, 2) + Unsafe.Add(ref r2, 2), b3 = Unsafe.Add(ref r1, 3) + Unsafe.Add(ref r2, 3);
                    T c0 = r2 - r1, c1 = Unsafe.Add(ref r2, 1) - Unsafe.Add(ref r1, 1), c2 = Unsafe.Add(ref r2, 2) - Unsafe.Add(ref r1, 2), c3 = Unsafe.Add(ref r2, 3) - Unsafe.Add(ref r1, 3);
                    T e0 = r1 - r3, e1 = Unsafe.Add(ref r1, 1) - Unsafe.Add(ref r3, 1), e2 = Unsafe.Add(ref r1, 2) - Unsafe.Add(ref r3, 2), e3 = Unsafe.Add(ref r1, 3) - Unsafe.Add(ref r3, 3);
                    // (Bᵀ d) B, row by row, into ξ = 4·row + column.
                    ref T o = ref Unsafe.Add(ref target, offset + a * tilesW + b);
                    Store(ref o, s1, a0 - a2, a1 + a2, a2 - a1, a1 - a3);
                    Store(ref Unsafe.Add(ref o, s4), s1, b0 - b2, b1 + b2, b2 - b1, b1 - b3);
                    Store(ref Unsafe.Add(ref o, 2 * s4), s1, c0 - c2, c1 + c2, c2 - c1, c1 - c3);
                    Store(ref Unsafe.Add(ref o, 3 * s4), s1, e0 - e2, e1 + e2, e2 - e1, e1 - e3);
                }
            }
        }
    }

    /// <summary>
    /// Each 2×2 output block = Aᵀ M A (+ bias) from M[ξ][offset + tile], ξ planes <paramref name="stride"/> apart;
    /// blocks past the plane's edge are cut. Aᵀ = [1 1 1 0; 0 1 −1 −1].
    /// </summary>
    private static void TransformOutput<T>(NativeBuffer<T> m, int offset, int stride, int tilesH, int tilesW, Span<T> plane, int h, int w, T bias)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T source = ref MemoryMarshal.GetReference(m.Span);
        ref T target = ref MemoryMarshal.GetReference(plane);
        nint s1 = stride;
        for (int a = 0; a < tilesH; a++)
        {
            bool lastRow = 2 * a + 1 >= h;
            for (int b = 0; b < tilesW; b++)
            {
                ref T q = ref Unsafe.Add(ref source, offset + a * tilesW + b);
                T q0 = q, q1 = Unsafe.Add(ref q, s1), q2 = Unsafe.Add(ref q, 2 * s1), q3 = Unsafe.Add(ref q, 3 * s1);
                T q4 = Unsafe.Add(ref q, 4 * s1), q5 = Unsafe.Add(ref q, 5 * s1), q6 = Unsafe.Add(ref q, 6 * s1), q7 = Unsafe.Add(ref q, 7 * s1);
                T q8 = Unsafe.Add(ref q, 8 * s1), q9 = Unsafe.Add(ref q, 9 * s1), q10 = Unsafe.Add(ref q, 10 * s1), q11 = Unsafe.Add(ref q, 11 * s1);
                T q12 = Unsafe.Add(ref q, 12 * s1), q13 = Unsafe.Add(ref q, 13 * s1), q14 = Unsafe.Add(ref q, 14 * s1), q15 = Unsafe.Add(ref q, 15 * s1);
                // Aᵀ M: two rows of four.
                T p0 = q0 + q4 + q8, p1 = q1 + q5 + q9, p2 = q2 + q6 + q10, p3 = q3 + q7 + q11;
                T t0 = q4 - q8 - q12, t1 = q5 - q9 - q13, t2 = q6 - q10 - q14, t3 = q7 - q11 - q15;
                int i = 2 * a, j = 2 * b;
                ref T y0 = ref Unsafe.Add(ref target, i * w + j);
                bool lastColumn = j + 1 >= w;
                y0 = p0 + p1 + p2 + bias;
                if (!lastColumn) Unsafe.Add(ref y0, 1) = p1 - p2 - p3 + bias;
                if (lastRow) continue;
                ref T y1 = ref Unsafe.Add(ref y0, w);
                y1 = t0 + t1 + t2 + bias;
                if (!lastColumn) Unsafe.Add(ref y1, 1) = t1 - t2 - t3 + bias;
            }
        }
    }

    /// <summary>The adjoint of <see cref="TransformOutput{T}"/>: M̄[ξ] = (A ḡ Aᵀ)[ξ] for each 2×2 block ḡ of a gradient plane (zeros past its edge).</summary>
    private static void TransformOutputAdjoint<T>(ReadOnlySpan<T> plane, int h, int w, int tilesH, int tilesW, NativeBuffer<T> mbar, int offset, int stride)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T source = ref MemoryMarshal.GetReference(plane);
        ref T target = ref MemoryMarshal.GetReference(mbar.Span);
        nint s1 = stride, s4 = 4 * (nint)stride;
        for (int a = 0; a < tilesH; a++)
        {
            int i = 2 * a;
            bool lastRow = i + 1 >= h;
            for (int b = 0; b < tilesW; b++)
            {
                int j = 2 * b;
                bool lastColumn = j + 1 >= w;
                ref T g0 = ref Unsafe.Add(ref source, i * w + j);
                T g00 = g0, g01 = lastColumn ? T.Zero : Unsafe.Add(ref g0, 1);
                T g10 = T.Zero, g11 = T.Zero;
                if (!lastRow)
                {
                    g10 = Unsafe.Add(ref g0, w);
                    g11 = lastColumn ? T.Zero : Unsafe.Add(ref g0, w + 1);
                }
                // A ḡ: rows (ḡ₀, ḡ₀ + ḡ₁, ḡ₀ − ḡ₁, −ḡ₁); then each row (x, y) ↦ (x, x + y, x − y, −y).
                ref T o = ref Unsafe.Add(ref target, offset + a * tilesW + b);
                T x1 = g00 + g10, y1 = g01 + g11, x2 = g00 - g10, y2 = g01 - g11;
                Store(ref o, s1, g00, g00 + g01, g00 - g01, -g01);
                Store(ref Unsafe.Add(ref o, s4), s1, x1, x1 + y1, x1 - y1, -y1);
                Store(ref Unsafe.Add(ref o, 2 * s4), s1, x2, x2 + y2, x2 - y2, -y2);
                Store(ref Unsafe.Add(ref o, 3 * s4), s1, -g10, -g10 - g11, g11 - g10, g11);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(ref T at, nint stride, T e0, T e1, T e2, T e3)
    {
        at = e0;
        Unsafe.Add(ref at, stride) = e1;
        Unsafe.Add(ref at, 2 * stride) = e2;
        Unsafe.Add(ref at, 3 * stride) = e3;
    }

    /// <summary>
    /// Copies a plane into a zero scratch plane of ph × pw at offset (padTop, padLeft); the parts of the plane
    /// outside the scratch are never read by a patch and are left out.
    /// </summary>
    private static void Embed<T>(ReadOnlySpan<T> plane, int h, int w, int padTop, int padLeft, Span<T> padded, int ph, int pw)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        padded.Clear();
        int c0 = Math.Max(0, -padLeft), c1 = Math.Min(w, pw - padLeft);
        if (c1 <= c0) return;
        for (int r = Math.Max(0, -padTop); r < h && r + padTop < ph; r++)
            plane.Slice(r * w + c0, c1 - c0).CopyTo(padded.Slice((r + padTop) * pw + padLeft + c0, c1 - c0));
    }

    /// <summary>
    /// u[ξ][o][c] = (G g Gᵀ)[ξ] for g = w[o, c] (or, rotating, u[ξ][c][o] for g = w[o, c] turned by 180°: the kernel
    /// of the transposed convolution). G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1].
    /// </summary>
    private static void TransformWeights<T>(NativeBuffer<T> w, NativeBuffer<T> u, int cout, int cin, bool rotate) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T half = T.One / (T.One + T.One);
        int pairs = cout * cin;
        Span<T> k = stackalloc T[9];
        Span<T> t = stackalloc T[12];
        for (int pair = 0; pair < pairs; pair++)
        {
            int o = pair / cin, c = pair % cin;
            for (int e = 0; e < 9; e++) k[e] = w[pair * 9 + (rotate ? 8 - e : e)];
            for (int s = 0; s < 3; s++)
            {
                // G g, column s.
                t[s] = k[s];
                t[3 + s] = (k[s] + k[3 + s] + k[6 + s]) * half;
                t[6 + s] = (k[s] - k[3 + s] + k[6 + s]) * half;
                t[9 + s] = k[6 + s];
            }
            int slot = rotate ? c * cout + o : o * cin + c;
            for (int r = 0; r < 4; r++)
            {
                // (G g) Gᵀ, row r.
                T e0 = t[3 * r], e1 = t[3 * r + 1], e2 = t[3 * r + 2];
                u[(4 * r + 0) * pairs + slot] = e0;
                u[(4 * r + 1) * pairs + slot] = (e0 + e1 + e2) * half;
                u[(4 * r + 2) * pairs + slot] = (e0 - e1 + e2) * half;
                u[(4 * r + 3) * pairs + slot] = e2;
            }
        }
    }

    /// <summary>The adjoint of <see cref="TransformWeights{T}"/> (unrotated): gw[o, c] = Gᵀ Ū[·][o][c] G.</summary>
    private static void TransformWeightsAdjoint<T>(NativeBuffer<T> ubar, NativeBuffer<T> gw, int cout, int cin) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T half = T.One / (T.One + T.One);
        int pairs = cout * cin;
        Span<T> q = stackalloc T[16];
        Span<T> t = stackalloc T[12];
        for (int pair = 0; pair < pairs; pair++)
        {
            for (int xi = 0; xi < 16; xi++) q[xi] = ubar[xi * pairs + pair];
            for (int r = 0; r < 4; r++)
            {
                // Ū G, row r: Gᵀ's columns applied to the row.
                T e0 = q[4 * r], e1 = q[4 * r + 1], e2 = q[4 * r + 2], e3 = q[4 * r + 3];
                t[3 * r] = e0 + (e1 + e2) * half;
                t[3 * r + 1] = (e1 - e2) * half;
                t[3 * r + 2] = (e1 + e2) * half + e3;
            }
            for (int s = 0; s < 3; s++)
            {
                // Gᵀ (Ū G), column s.
                T e0 = t[s], e1 = t[3 + s], e2 = t[6 + s], e3 = t[9 + s];
                gw[pair * 9 + s] = e0 + (e1 + e2) * half;
                gw[pair * 9 + 3 + s] = (e1 - e2) * half;
                gw[pair * 9 + 6 + s] = (e1 + e2) * half + e3;
            }
        }
    }

    /// <summary>Elements of the zero-bordered plane that covers every 4×4 patch of a tilesH × tilesW tiling.</summary>
    private static int ScratchLength(int tilesH, int tilesW) => (2 * tilesH + 2) * (2 * tilesW + 2);

    private static int GroupSize(int perImage, int channels, int n)
    {
        int wide = (MinGemmColumns + perImage - 1) / Math.Max(1, perImage);
        int budget = Math.Max(1, TransformBudget / Math.Max(1, 16 * channels * perImage));
        return Math.Clamp(Math.Min(wide, budget), 1, Math.Max(1, n));
    }

    private static int MinChunk(int elementsPerItem) => Math.Max(1, MinParallelElements / Math.Max(1, elementsPerItem));
}
