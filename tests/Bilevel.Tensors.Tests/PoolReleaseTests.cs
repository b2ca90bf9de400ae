using System.Globalization;
using Bilevel.Tensors.Internal;

namespace Bilevel.Tensors.Tests;

/// <summary>
/// When the pool gives idle buffers back to the operating system: all of them on <see cref="TensorMemory.ReleaseIdle"/>,
/// and never in a loop that repeats its sizes, whether they are live together or idle at different times. Each test starts from an empty pool; they run alone, since another test's buffers would change the figures.
/// </summary>
[Collection(ProcessMemoryCollection.Name)]
public class PoolReleaseTests
{
    private const long MiB = 1L << 20;
    private const int Small = (int)(4 * MiB / sizeof(double)), Large = (int)(10 * MiB / sizeof(double));

    [Fact]
    public void ReleaseIdle_gives_the_idle_buffers_back_to_the_operating_system()
    {
        TensorMemory.ReleaseIdle();
        using (TensorScope.Begin())
        {
            for (int i = 0; i < 4; i++) Tensor<double>.Zeros((int)(8 * MiB / sizeof(double)));
        }
        long idle = TensorMemory.IdleBytes;
        Assert.Equal(32 * MiB, idle);

        long before = ResidentBytes();
        long released = TensorMemory.ReleaseIdle();
        long after = ResidentBytes();

        Assert.Equal(idle, released);
        Assert.Equal(0, TensorMemory.IdleBytes);
        Assert.True(before - after >= released * 3 / 4,
            $"resident memory dropped by {(before - after) / MiB} MiB ({before / MiB} → {after / MiB} MiB) when {released / MiB} MiB were released");
    }

    [Fact]
    public void A_loop_whose_sizes_are_idle_at_different_times_allocates_only_in_its_first_pass()
    {
        // The pattern of a Hessian-vector product: each pass needs 3 small buffers, then (the small ones idle) 3 large.
        TensorMemory.ReleaseIdle();
        long afterFirstPass = 0;
        for (int pass = 1; pass <= 4; pass++)
        {
            foreach (int length in new[] { Small, Large })
            {
                using (TensorScope.Begin())
                {
                    for (int i = 0; i < 3; i++) Tensor<double>.Zeros(length);
                }
            }
            if (pass == 1) afterFirstPass = BlockPool.FreshBlocks;
        }
        Assert.Equal(afterFirstPass, BlockPool.FreshBlocks);
        TensorMemory.ReleaseIdle();
    }

    [Fact]
    public void A_loop_whose_sizes_are_live_together_allocates_only_in_its_first_pass()
    {
        TensorMemory.ReleaseIdle();
        long afterFirstPass = 0, idleAfterFirstPass = 0;
        for (int pass = 1; pass <= 10; pass++)
        {
            using (TensorScope.Begin())
            {
                var x = Tensor<double>.Full(new Shape(Small), 1.0);
                var y = Tensor<double>.Full(new Shape(Large), 2.0);
                Ops.Add(x, x);
                Ops.Mul(y, y);
            }
            if (pass == 1)
            {
                afterFirstPass = BlockPool.FreshBlocks;
                idleAfterFirstPass = TensorMemory.IdleBytes;
            }
        }
        Assert.Equal(afterFirstPass, BlockPool.FreshBlocks);
        Assert.Equal(idleAfterFirstPass, TensorMemory.IdleBytes);
        TensorMemory.ReleaseIdle();
    }

    /// <summary>VmRSS from /proc/self/status, in bytes.</summary>
    private static long ResidentBytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        }
        throw new InvalidOperationException("/proc/self/status has no VmRSS line.");
    }
}
