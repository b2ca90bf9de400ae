using Bilevel.Tensors.Internal.Kernels;
using Xunit;

namespace Bilevel.Tensors.Tests;

public class KernelThreadsTests
{
    [Fact]
    public void EveryChunkRunsExactlyOnceAcrossManyCallsWithIdleGaps()
    {
        // Some calls find the workers asleep, some still spinning (a short busy gap): a lost wake-up would hang
        // here, a duplicated one would run a chunk twice.
        for (int call = 0; call < 400; call++)
        {
            int chunks = 2 + call % 7;
            var runs = new int[chunks];
            KernelThreads.Run(chunks, c => Interlocked.Increment(ref runs[c]));
            Assert.All(runs, r => Assert.Equal(1, r));
            if (call % 50 == 0) AwaitWorkersAsleep();
            else if (call % 5 == 0) Thread.SpinWait(20_000);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ChunksRunAtTheSameTimeWhetherWorkersSpinOrSleep(bool letWorkersFallAsleep)
    {
        for (int call = 0; call < 20; call++)
        {
            if (letWorkersFallAsleep) AwaitWorkersAsleep();
            var threads = new HashSet<int>();
            using var barrier = new Barrier(2);
            // Each of the two chunks waits for the other, so this returns only if a second thread took one: a
            // worker that missed its wake-up leaves the caller alone at the barrier.
            KernelThreads.Run(2, _ =>
            {
                lock (threads) threads.Add(Environment.CurrentManagedThreadId);
                Assert.True(barrier.SignalAndWait(TimeSpan.FromSeconds(10)));
            });
            Assert.Equal(2, threads.Count);
        }
    }

    [Fact]
    public void AChunksExceptionReachesTheCallerAfterTheOtherChunksFinish()
    {
        int finished = 0;
        using var thrown = new ManualResetEventSlim();
        // Chunks are claimed in index order, so chunk 3 is already taken when any of 4–7 starts: those wait for its
        // exception and finish after it, which the caller must still wait for.
        var error = Assert.Throws<InvalidOperationException>(() => KernelThreads.Run(8, c =>
        {
            if (c == 3)
            {
                thrown.Set();
                throw new InvalidOperationException("chunk 3");
            }
            if (c > 3) Assert.True(thrown.Wait(TimeSpan.FromSeconds(10)));
            Interlocked.Increment(ref finished);
        }));
        Assert.Equal("chunk 3", error.Message);
        Assert.Equal(7, Volatile.Read(ref finished));
        // The workers survive a failed chunk.
        var runs = new int[4];
        KernelThreads.Run(4, c => Interlocked.Increment(ref runs[c]));
        Assert.All(runs, r => Assert.Equal(1, r));
    }

    [Fact]
    public void NestedAndConcurrentCallsComplete()
    {
        var total = 0;
        Parallel.For(0, 4, _ =>
        {
            for (int i = 0; i < 50; i++)
                KernelThreads.Run(3, outer => KernelThreads.Run(2, inner => Interlocked.Increment(ref total)));
        });
        Assert.Equal(4 * 50 * 3 * 2, total);
    }

    /// <summary>Waits until the workers have passed their spin and gone to sleep, so the next call must wake them.</summary>
    private static void AwaitWorkersAsleep() =>
        Assert.True(SpinWait.SpinUntil(() => KernelThreads.WorkersAsleep, TimeSpan.FromSeconds(10)), "the kernel workers did not go to sleep");
}
