using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace Bilevel.Tensors.Internal.Kernels;

/// <summary>
/// Fork-join for the kernels: runs chunk indices [0, chunks) on the calling thread and a fixed set of background
/// workers, one call at a time. Why not Parallel.For: on a two-core machine the thread pool kept four workers, each
/// spinning through sched_yield after its work item ran out, and they preempted the caller through the serial
/// stretches between kernels (6.2 M involuntary context switches in 23 s of condensation RGU; holding the pool to
/// one worker cut the whole process's time to 0.89×). Here at most <c>chunks − 1</c> workers exist; after its last
/// chunk each spins on pause instructions (no system call) for <see cref="SpinMicroseconds"/>, so the next kernel
/// starts without a wake-up, then sleeps on its own semaphore.
/// </summary>
/// <remarks>
/// Chunks are claimed in whatever order threads arrive, so a chunk's work must depend on its index alone (as in
/// <see cref="Parallelism"/>); results then do not depend on which thread ran what. A call made while another is
/// running — two trials sharing the engine, or a kernel called from inside a chunk — has Parallel.For's threads
/// drain its chunks instead, so callers never wait on each other; either way every chunk runs, and the first
/// exception is rethrown as itself.
/// </remarks>
internal static class KernelThreads
{
    /// <summary>
    /// How long an idle worker keeps watching for the next call: longer than the gap between consecutive kernels of
    /// one layer, far shorter than anything a person would notice as a busy core.
    /// </summary>
    private const int SpinMicroseconds = 200;

    private static readonly long SpinTicks = Stopwatch.Frequency * SpinMicroseconds / 1_000_000;
    // Touched only by the call that holds `running`.
    private static readonly List<Worker> Workers = [];
    private static Job? current;
    private static long generation;
    private static int running;

    /// <summary>Runs <paramref name="body"/> once for every chunk index and returns when all have finished; the first exception thrown by a chunk is rethrown here.</summary>
    public static void Run(int chunks, Action<int> body)
    {
        if (chunks <= 1)
        {
            if (chunks == 1) body(0);
            return;
        }
        var job = new Job(chunks, body);
        if (Interlocked.CompareExchange(ref running, 1, 0) != 0)
            Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = chunks }, _ => job.Drain());
        else
        {
            try
            {
                int helpers = EnsureWorkers(chunks - 1);
                Volatile.Write(ref current, job);
                Interlocked.Increment(ref generation);
                for (int i = 0; i < helpers; i++) Workers[i].Notify();
                job.Drain();
                job.AwaitChunksInFlight();
                Volatile.Write(ref current, null);
            }
            finally
            {
                Volatile.Write(ref running, 0);
            }
        }
        if (job.Failure is not null) ExceptionDispatchInfo.Throw(job.Failure);
    }

    private static int EnsureWorkers(int wanted)
    {
        while (Workers.Count < wanted) Workers.Add(new Worker(Volatile.Read(ref generation)));
        return wanted;
    }

    /// <summary>One call's chunks: claimed by index, counted down as they finish.</summary>
    private sealed class Job(int chunks, Action<int> body)
    {
        private readonly int count = chunks;
        private int next = -1;
        private int pending = chunks;
        private Exception? failure;

        public Exception? Failure => Volatile.Read(ref failure);

        /// <summary>Runs unclaimed chunks until none is left; a stale job (its call already returned) has none.</summary>
        public void Drain()
        {
            int chunk;
            while ((chunk = Interlocked.Increment(ref next)) < count)
            {
                try
                {
                    body(chunk);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref failure, e, null);
                }
                Interlocked.Decrement(ref pending);
            }
        }

        /// <summary>Waits for chunks other threads claimed but have not finished; they are short, so this spins.</summary>
        public void AwaitChunksInFlight()
        {
            var spinner = new SpinWait();
            while (Volatile.Read(ref pending) > 0) spinner.SpinOnce(sleep1Threshold: -1);
        }
    }

    /// <summary>
    /// A background thread that runs the chunks of each new call. Sleeping is a handshake on <see cref="asleep"/>:
    /// every 0→1 the worker makes is followed by one Wait, every 1→0 a caller makes by one Release, so a wake-up is
    /// never lost and never left over.
    /// </summary>
    private sealed class Worker
    {
        private readonly SemaphoreSlim wake = new(0);
        private readonly long createdAt;
        private int asleep;

        /// <summary>Starts a worker that waits for the first call after <paramref name="generationNow"/>.</summary>
        public Worker(long generationNow)
        {
            createdAt = generationNow;
            new Thread(Loop) { IsBackground = true, Name = "Bilevel kernel worker" }.Start();
        }

        public void Notify()
        {
            if (Interlocked.Exchange(ref asleep, 0) == 1) wake.Release();
        }

        private void Loop()
        {
            long seen = createdAt;
            while (true)
            {
                seen = AwaitCall(seen);
                Volatile.Read(ref current)?.Drain();
            }
        }

        /// <summary>Returns once <see cref="generation"/> has moved past <paramref name="seen"/>: spinning at first, then asleep.</summary>
        private long AwaitCall(long seen)
        {
            long deadline = Stopwatch.GetTimestamp() + SpinTicks;
            do
            {
                long now = Volatile.Read(ref generation);
                if (now != seen) return now;
                Thread.SpinWait(20);
            }
            while (Stopwatch.GetTimestamp() < deadline);

            Interlocked.Exchange(ref asleep, 1);
            if (Volatile.Read(ref generation) == seen)
                wake.Wait();
            else if (Interlocked.Exchange(ref asleep, 0) == 0)
                wake.Wait(); // A caller took the flag after the call began: consume the Release it owes.
            return Volatile.Read(ref generation);
        }
    }
}
