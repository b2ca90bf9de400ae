namespace Bilevel.Tensors.Internal.Kernels;

/// <summary>
/// Two operands broadcast to an output, reduced to the fewest dimensions: size-1 output axes are dropped and
/// neighbouring axes with the same broadcast pattern are merged, so the innermost run is as long as possible.
/// Strides of broadcast axes are 0.
/// </summary>
internal readonly struct BroadcastLayout
{
    public readonly int[] Sizes;
    public readonly int[] StridesX;
    public readonly int[] StridesY;

    public BroadcastLayout(Shape x, Shape y, Shape output)
    {
        int rank = output.Rank;
        var sizes = new List<int>(rank);
        var bx = new List<bool>(rank);
        var by = new List<bool>(rank);
        for (int i = 0; i < rank; i++)
        {
            int o = output[i];
            if (o == 1) continue;
            bool xBroadcast = Dim(x, i, rank) == 1;
            bool yBroadcast = Dim(y, i, rank) == 1;
            int last = sizes.Count - 1;
            if (last >= 0 && bx[last] == xBroadcast && by[last] == yBroadcast)
                sizes[last] *= o;
            else
            {
                sizes.Add(o);
                bx.Add(xBroadcast);
                by.Add(yBroadcast);
            }
        }
        Sizes = [.. sizes];
        StridesX = Strides(Sizes, bx);
        StridesY = Strides(Sizes, by);
    }

    private static int Dim(Shape s, int i, int rank)
    {
        int j = i - (rank - s.Rank);
        return j < 0 ? 1 : s[j];
    }

    private static int[] Strides(int[] sizes, List<bool> broadcast)
    {
        var strides = new int[sizes.Length];
        int s = 1;
        for (int i = sizes.Length - 1; i >= 0; i--)
        {
            strides[i] = broadcast[i] ? 0 : s;
            if (!broadcast[i]) s *= sizes[i];
        }
        return strides;
    }
}
