using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace Bilevel.Tensors.Internal.Kernels;

/// <summary>
/// Fork-join for the kernels, and for coarse work run side by side (<see cref="TensorEngine.RunSideBySide"/>): runs
/// chunk indices [0, chunks) on the calling thread and a fixed set of background workers, one call at a time. Why
/// not Parallel.For: on a two-core machine the thread pool kept four workers, each spinning through sched_yield after
/// its work item ran out, and they preempted the caller through the serial stretches between kernels (6.2 M
/// involuntary context switches in 23 s of condensation RGU; holding the pool to one worker cut the whole process's
/// time to 0.89×). Here there are only as many workers as the largest call asked for, less the caller; after its
/// last chunk each spins on pause instructions (no system call) for <see cref="SpinMicroseconds"/>, so the next
/// kernel starts without a wake-up, then sleeps on its own semaphore.
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

    /// <summary>Runs <paramref name="body"/> once for every chunk index, one thread per chunk, and returns when all have finished; the first exception thrown by a chunk is rethrown here.</summary>
    public static void Run(int chunks, Action<int> body) => Run(chunks, chunks, body);

    /// <summary>As <see cref="Run(int, Action{int})"/>, on at most <paramref name="threads"/> threads (the caller's included), which claim the chunks one after another.</summary>
    public static void Run(int chunks, int threads, Action<int> body)
    {
        threads = Math.Min(chunks, threads);
        if (threads <= 1)
        {
            for (int chunk = 0; chunk < chunks; chunk++) body(chunk);
            return;
        }
        var job = new Job(chunks, body);
        if (Interlocked.CompareExchange(ref running, 1, 0) != 0)
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ => job.Drain());
        else
        {
            try
            {
                int helpers = EnsureWorkers(threads - 1);
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

    /// <summary>
    /// Whether every worker has stopped spinning and gone (or is going) to sleep; for tests that must start a call
    /// with the workers asleep. Read it only while no call runs.
    /// </summary>
    internal static bool WorkersAsleep => Workers.TrueForAll(w => w.IsAsleep);

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
        private ManualResetEventSlim? finished;

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
                if (Interlocked.Decrement(ref pending) == 0) Volatile.Read(ref finished)?.Set();
            }
        }

        /// <summary>
        /// Waits for chunks other threads claimed but have not finished. A kernel's chunks are short, so this spins
        /// for <see cref="SpinTicks"/>; past that (coarse work, seconds per chunk) it sleeps instead of holding a core.
        /// </summary>
        public void AwaitChunksInFlight()
        {
            long deadline = Stopwatch.GetTimestamp() + SpinTicks;
            var spinner = new SpinWait();
            while (Volatile.Read(ref pending) > 0)
            {
                if (Stopwatch.GetTimestamp() < deadline)
                {
                    spinner.SpinOnce(sleep1Threshold: -1);
                    continue;
                }
                // Publish the event, then look again: the last chunk's Decrement comes before its read of `finished`
                // (both full fences), so either it sees the event or this sees pending = 0. The event is not
                // disposed: a late Set may still reach it, and a Monitor-based wait holds no OS handle.
                var signal = new ManualResetEventSlim(false, spinCount: 0);
                Interlocked.Exchange(ref finished, signal);
                if (Volatile.Read(ref pending) > 0) signal.Wait();
                return;
            }
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

        public bool IsAsleep => Volatile.Read(ref asleep) == 1;

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
