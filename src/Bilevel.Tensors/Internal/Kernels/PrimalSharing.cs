using System.Diagnostics;

namespace Bilevel.Tensors.Internal.Kernels;

/// <summary>
/// Threads that evaluate one function on the same primal values side by side, each carrying its own chunk of
/// forward-mode tangents (<see cref="TensorEngine.RunSharingPrimal"/>), compute each large primal product once
/// between them: each computes a share of the output's rows into its own copy of the output, then copies the other
/// shares from the others' copies. Without this every thread repeats the whole primal: for (FG)²U's b = 8 directions
/// on two threads, an eighth of one thread's work done twice, which capped the speed-up at ×1.78.
/// </summary>
/// <remarks>
/// Products are matched by order: a member's n-th shared product is every other member's n-th, which holds because
/// they run the same function and a primal computation never depends on the tangents. What each computes (the op
/// and its shapes) is compared as well; a mismatch, a broken assumption rather than an expected case, ends the
/// sharing for all members, who then compute every product alone. A member that has finished or failed leaves, and
/// the others no longer wait for it. The members are those that joined before the first shared product; an item
/// that starts later (its thread was busy) runs alone, so a member never waits for an item that has not started.
/// </remarks>
internal sealed unsafe class PrimalSharing
{
    /// <summary>How long the first shared product waits for the other items to start (a kernel worker's wake-up).</summary>
    private const int JoinWaitMicroseconds = 2000;

    private static readonly long JoinWaitTicks = Stopwatch.Frequency * JoinWaitMicroseconds / 1_000_000;

    [ThreadStatic] private static Member? current;

    private readonly int expected;
    private readonly List<Member> joined = [];
    private Member[]? members;

    private PrimalSharing(int expected) => this.expected = expected;

    /// <summary>The calling thread's membership while it runs an item of <see cref="RunItems"/>; null otherwise.</summary>
    public static Member? Current => current;

    /// <summary>Runs items [first, first + count) side by side on <paramref name="count"/> threads, sharing their primal products.</summary>
    public static void RunItems(int first, int count, Action<int> body)
    {
        var group = new PrimalSharing(count);
        KernelThreads.Run(count, count, i =>
        {
            var member = group.Join();
            current = member;
            try
            {
                body(first + i);
            }
            finally
            {
                current = null;
                member.Leave();
            }
        });
    }

    private Member Join()
    {
        lock (joined)
        {
            var member = new Member(this, late: members is not null);
            if (members is null) joined.Add(member);
            return member;
        }
    }

    /// <summary>The members, fixed by the first shared product once every item has joined or the wait ran out.</summary>
    private Member[] Members()
    {
        if (Volatile.Read(ref members) is { } fixedSet) return fixedSet;
        long deadline = Stopwatch.GetTimestamp() + JoinWaitTicks;
        var spinner = new SpinWait();
        while (Stopwatch.GetTimestamp() < deadline)
        {
            lock (joined)
                if (joined.Count == expected) break;
            spinner.SpinOnce(sleep1Threshold: -1);
        }
        lock (joined)
            return members ??= [.. joined];
    }

    /// <summary>One item's side of the sharing; used by the item's own thread only, but for the fields others read.</summary>
    public sealed class Member(PrimalSharing group, bool late)
    {
        private long sequence;
        private bool alone = late;
        private long arrived = -1, computed = -1, copied = -1;
        private int left;
        private object? key;
        private byte* output;

        private bool Left => Volatile.Read(ref left) != 0;

        internal void Leave() => Volatile.Write(ref left, 1);

        /// <summary>
        /// Fills <paramref name="rows"/> rows of an output at <paramref name="c"/> (row stride <paramref name="strideBytes"/>,
        /// <paramref name="rowBytes"/> written per row): <paramref name="computeRows"/>(start, end) computes rows [start, end)
        /// into this member's copy; the rest is copied from the other members' copies. <paramref name="work"/> says
        /// what is computed (an op and its shapes): the members' must be equal.
        /// </summary>
        public void Share<TKey>(TKey work, byte* c, int rows, int rowBytes, long strideBytes, Action<int, int> computeRows)
            where TKey : struct, IEquatable<TKey>
        {
            if (alone)
            {
                computeRows(0, rows);
                return;
            }
            var all = group.Members();
            if (all.Length == 1)
            {
                alone = true;
                computeRows(0, rows);
                return;
            }
            long s = ++sequence;
            key = work;
            output = c;
            Volatile.Write(ref arrived, s);
            var present = new List<Member>(all.Length);
            bool agree = true;
            foreach (var other in all)
            {
                if (other == this) { present.Add(this); continue; }
                if (!Reached(other, ref other.arrived, s)) continue;
                present.Add(other);
                agree &= other.key is TKey theirs && theirs.Equals(work);
            }
            if (!agree)
            {
                // Every present member sees the same keys, so all of them stop sharing here.
                alone = true;
                Leave();
                computeRows(0, rows);
                return;
            }
            int rank = present.IndexOf(this);
            try
            {
                computeRows(ShareStart(rank, present.Count, rows), ShareStart(rank + 1, present.Count, rows));
            }
            catch
            {
                Leave();
                throw;
            }
            Volatile.Write(ref computed, s);
            for (int r = 0; r < present.Count; r++)
            {
                if (r == rank) continue;
                var other = present[r];
                int start = ShareStart(r, present.Count, rows), end = ShareStart(r + 1, present.Count, rows);
                if (!Reached(other, ref other.computed, s))
                {
                    computeRows(start, end); // it failed before finishing its share
                    continue;
                }
                for (long row = start; row < end; row++)
                    Buffer.MemoryCopy(other.output + row * strideBytes, c + row * strideBytes, rowBytes, rowBytes);
            }
            // No member may write its copy again (or publish the next product) while another still reads it.
            Volatile.Write(ref copied, s);
            foreach (var other in present)
                if (other != this) Reached(other, ref other.copied, s);
        }

        /// <summary>Waits until <paramref name="other"/> reaches a stage of product <paramref name="s"/>: false if it left first.</summary>
        private static bool Reached(Member other, ref long stage, long s)
        {
            var spinner = new SpinWait();
            while (Volatile.Read(ref stage) != s)
            {
                if (other.Left) return Volatile.Read(ref stage) == s;
                spinner.SpinOnce(sleep1Threshold: -1);
            }
            return true;
        }

        private static int ShareStart(int rank, int members, int rows) => (int)((long)rows * rank / members);
    }
}
