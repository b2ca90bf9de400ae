using Xunit;

namespace Bilevel.Tensors.Tests;

/// <summary>TensorEngine.RunSideBySide: coarse items on a bounded number of threads, each with its share of the kernels' threads.</summary>
public class SideBySideTests
{
    [Fact]
    public void EveryItemRunsOnceOnAtMostTheGivenThreadsWithItsShareOfKernelThreads()
    {
        using var limit = TensorEngine.LimitThreads(4);
        var runs = new int[9];
        var kernelThreads = new int[9];
        int running = 0, mostAtOnce = 0;
        // Items 0 and 1 wait for each other, so both threads are inside an item at once at least once; a thread
        // cannot take item 1 after item 0 without the other's help, so this never waits for a third thread.
        using var firstTwo = new Barrier(2);
        TensorEngine.RunSideBySide(9, 2, i =>
        {
            int now = Interlocked.Increment(ref running);
            for (int seen = Volatile.Read(ref mostAtOnce); now > seen; seen = Volatile.Read(ref mostAtOnce))
                Interlocked.CompareExchange(ref mostAtOnce, now, seen);
            if (i < 2) Assert.True(firstTwo.SignalAndWait(TimeSpan.FromSeconds(10)));
            kernelThreads[i] = TensorEngine.ThreadCount;
            Interlocked.Increment(ref runs[i]);
            Interlocked.Decrement(ref running);
        });
        Assert.All(runs, r => Assert.Equal(1, r));
        Assert.InRange(mostAtOnce, 1, 2);
        Assert.All(kernelThreads, t => Assert.Equal(2, t));
        Assert.Equal(4, TensorEngine.ThreadCount);
    }

    [Fact]
    public void TwoItemsOnTwoThreadsRunAtTheSameTime()
    {
        using var barrier = new Barrier(2);
        // Each item waits for the other: this returns only if a second thread took one.
        TensorEngine.RunSideBySide(2, 2, _ => Assert.True(barrier.SignalAndWait(TimeSpan.FromSeconds(10))));
    }

    [Fact]
    public void TheCallerWaitsForAnItemThatOutlastsItsSpin()
    {
        // The item on the other thread takes from 0 to 2 ms, around and past the caller's 200 µs spin, so the caller's
        // switch from spinning to sleeping meets the item's end in every order: a missed wake-up would hang here, an
        // early return would see the item unfinished.
        var random = new Random(7);
        for (int call = 0; call < 300; call++)
        {
            int callerThread = Environment.CurrentManagedThreadId;
            long workTicks = System.Diagnostics.Stopwatch.Frequency * random.Next(0, 2000) / 1_000_000;
            var done = new bool[2];
            TensorEngine.RunSideBySide(2, 2, i =>
            {
                if (Environment.CurrentManagedThreadId != callerThread)
                {
                    long until = System.Diagnostics.Stopwatch.GetTimestamp() + workTicks;
                    while (System.Diagnostics.Stopwatch.GetTimestamp() < until) Thread.SpinWait(10);
                }
                Volatile.Write(ref done[i], true);
            });
            Assert.True(done[0] && done[1], $"call {call}: returned before both items finished");
        }
    }

    [Fact]
    public void OneThreadRunsTheItemsInOrderOnTheCaller()
    {
        int caller = Environment.CurrentManagedThreadId;
        var order = new List<int>();
        TensorEngine.RunSideBySide(5, 1, i =>
        {
            Assert.Equal(caller, Environment.CurrentManagedThreadId);
            order.Add(i);
        });
        Assert.Equal([0, 1, 2, 3, 4], order);
    }

    [Fact]
    public void AnItemsExceptionReachesTheCallerAndBadArgumentsAreRefused()
    {
        var error = Assert.Throws<InvalidOperationException>(() =>
            TensorEngine.RunSideBySide(4, 2, i => { if (i == 2) throw new InvalidOperationException("item 2"); }));
        Assert.Equal("item 2", error.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => TensorEngine.RunSideBySide(3, 0, _ => { }));
        Assert.Throws<ArgumentOutOfRangeException>(() => TensorEngine.RunSideBySide(-1, 2, _ => { }));
    }

    [Fact]
    public void KernelsInsideItemsComputeWhatTheyComputeAlone()
    {
        // Items call kernels while the items' own call holds the kernel workers; those calls take the fallback path.
        using var limit = TensorEngine.LimitThreads(4);
        using var scope = TensorScope.Begin();
        var a = Tensor<double>.FromSpan(Enumerable.Range(0, 200 * 150).Select(i => Math.Sin(i)).ToArray(), new Shape(200, 150));
        var b = Tensor<double>.FromSpan(Enumerable.Range(0, 150 * 120).Select(i => Math.Cos(i)).ToArray(), new Shape(150, 120));
        double[] alone;
        using (TensorEngine.LimitThreads(2)) alone = Ops.MatMul(a, b).ToArray();
        var inside = new double[3][];
        TensorEngine.RunSideBySide(3, 2, i =>
        {
            using var itemScope = TensorScope.Begin();
            inside[i] = Ops.MatMul(a, b).ToArray();
        });
        Assert.All(inside, product => Assert.Equal(alone, product));
    }
}
