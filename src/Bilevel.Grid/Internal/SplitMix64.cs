namespace Bilevel.Grid.Internal;

/// <summary>
/// SplitMix64's finaliser as a counter-based generator: a value is a pure function of its key, so draws do not
/// depend on order or on the .NET version (System.Random's seeded sequence is not promised to stay the same).
/// </summary>
internal static class SplitMix64
{
    public static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public static ulong Combine(ulong a, ulong b) => Mix(a ^ Mix(b));

    /// <summary>A double in [0, 1) from the top 53 bits.</summary>
    public static double ToUnit(ulong bits) => (bits >> 11) * (1.0 / (1UL << 53));

    /// <summary>FNV-1a of a name's UTF-16 code units: a stable key for a parameter's stream.</summary>
    public static ulong Hash(string name)
    {
        var h = 14695981039346656037UL;
        foreach (var c in name)
        {
            h ^= c;
            h *= 1099511628211UL;
        }
        return h;
    }
}
