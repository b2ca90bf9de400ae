using System.Numerics;

namespace Bilevel.Tensors;

/// <summary>
/// A counter-based random generator: the n-th number of the stream keyed by (seed, outer step, purpose) is a pure
/// function of those four values. An estimator's directions and an inner trajectory's minibatches can therefore
/// be regenerated exactly, and a trial resumed from a checkpoint draws what an uninterrupted one would have drawn.
/// </summary>
public struct CounterRandom
{
    private readonly ulong key;
    private ulong counter;

    public CounterRandom(ulong seed, long outerStep, string purpose)
    {
        ArgumentNullException.ThrowIfNull(purpose);
        key = Mix(Mix(seed ^ 0x9E3779B97F4A7C15UL) ^ (ulong)outerStep ^ StableHash(purpose));
        counter = 0;
    }

    /// <summary>How many numbers were drawn: enough, with the key, to resume the stream.</summary>
    public readonly ulong Position => counter;

    /// <summary>The stream from <paramref name="position"/> on.</summary>
    public readonly CounterRandom At(ulong position)
    {
        var copy = this;
        copy.counter = position;
        return copy;
    }

    public ulong NextUInt64() => Mix(key + 0xD1B54A32D192ED03UL * ++counter);

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, n) without modulo bias worth noticing (n ≪ 2⁶⁴).</summary>
    public int NextInt(int n)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        return (int)((NextUInt64() >> 32) * (ulong)n >> 32);
    }

    /// <summary>Standard normal by Box–Muller (one value per two uniforms, so the position advances by 2).</summary>
    public double NextGaussian()
    {
        double u1 = 1.0 - NextDouble();
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    public void FillUniform<T>(Span<T> destination, double low, double high) where T : IFloatingPointIeee754<T>
    {
        for (int i = 0; i < destination.Length; i++) destination[i] = T.CreateChecked(low + (high - low) * NextDouble());
    }

    public void FillGaussian<T>(Span<T> destination, double std = 1) where T : IFloatingPointIeee754<T>
    {
        for (int i = 0; i < destination.Length; i++) destination[i] = T.CreateChecked(std * NextGaussian());
    }

    /// <summary>A permutation of 0..n−1 (Fisher–Yates).</summary>
    public int[] Permutation(int n)
    {
        var p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (p[i], p[j]) = (p[j], p[i]);
        }
        return p;
    }

    // SplitMix64's finaliser: a bijection with full avalanche, so consecutive counters give independent-looking words.
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    // FNV-1a: string.GetHashCode is randomised per process, which would break reproducibility across restarts.
    private static ulong StableHash(string s)
    {
        ulong h = 0xCBF29CE484222325UL;
        foreach (char c in s)
        {
            h ^= c;
            h *= 0x100000001B3UL;
        }
        return h;
    }
}
