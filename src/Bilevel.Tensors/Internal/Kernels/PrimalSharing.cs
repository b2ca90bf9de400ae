using System.Diagnostics;

namespace Bilevel.Tensors.Internal.Kernels;

/// <summary>
/// Threads that evaluate one function on the same primal values side by side, each carrying its own chunk of
/// forward-mode tangents (<see cref="TensorEngine.RunSharingPrimal"/>), compute each large primal product once
/// between them: the output is cut into parts (blocks of rows or of columns), each thread claims parts one at a time,
/// computes them into its own copy of the output and publishes them in a buffer of the group's, then copies the
/// parts the others computed from there.
/// Without this every thread repeats the whole primal: for (FG)²U's b = 8 directions on two threads, an eighth of
/// one thread's work done twice, which capped the speed-up at ×1.78.
/// </summary>
/// <remarks>
/// Claiming parts rather than taking a fixed share means that a thread never waits for another to arrive: the
/// threads drift apart between products (hypercleaning's two drifted by 0.2–0.3 ms on average between products
/// 2.8 ms apart, for 33–65 ms of waiting per 300 ms call with fixed halves), and the one that arrives first computes
/// parts until the other joins in. Nor does it wait for the others to copy its parts: with the parts in the group's
/// buffers (one per product in flight) rather than in its own output, which it may change or free once it has left
/// the product, a member waits only before starting a product two ahead of another member. Timed at 6177e46, when
/// members copied from each other's outputs and so waited at the end of each product, that wait came to 41–56 ms per
/// call for the two together; with the buffers, the wait two products ahead is 11–13 ms.
/// Which thread computes a part does not change its bits: the parts are fixed by the product's shape alone.
/// <para>
/// Products are matched by order: a member's n-th shared product is every other member's n-th, which holds because
/// they run the same function and a primal computation never depends on the tangents. What each computes (the op
/// and its shapes) is compared as well; a member that finds a mismatch, a broken assumption rather than an expected
/// case, stops sharing and computes every product alone, and the others no longer wait for it. So does a member
/// that has finished or failed. The members are those that joined before the first shared product; an item that
/// starts later (its thread was busy) runs alone, so a member never waits for an item that has not started.
/// </para>
/// </remarks>
internal sealed unsafe class PrimalSharing
{
    /// <summary>The most parts a shared product is cut into.</summary>
    public const int MaxParts = 8;

    /// <summary>How long the first shared product waits for the other items to start (a kernel worker's wake-up).</summary>
    private const int JoinWaitMicroseconds = 2000;

    private static readonly long JoinWaitTicks = Stopwatch.Frequency * JoinWaitMicroseconds / 1_000_000;

    [ThreadStatic] private static Member? current;

    private readonly int expected;
    private readonly List<Member> joined = [];
    private Member[]? members;

    /// <summary>
    /// Products in progress at once: a member may start product s + 1 while another still copies product s, but not
    /// s + 2 (it waits), so that the buffer product s published its parts in is free again.
    /// </summary>
    private const int InFlight = 2;

    // Per product in flight, by sequence number modulo InFlight. claims: the sequence number << 8 | how many parts
    // have been claimed. partStates[slot, p]: the sequence number << 8 | the claiming member's index << 1 | 1 once
    // the part is published. published: where the parts are published, for the members that did not compute them.
    private readonly long[] claims = new long[InFlight];
    private readonly long[,] partStates = new long[InFlight, MaxParts];
    private readonly PublishedParts[] published = [.. Enumerable.Range(0, InFlight).Select(_ => new PublishedParts())];

    private PrimalSharing(int expected) => this.expected = expected;

    /// <summary>The calling thread's membership while it runs an item of <see cref="RunItems"/>; null otherwise.</summary>
    public static Member? Current => current;

    /// <summary>Runs items [first, first + count) side by side on <paramref name="count"/> threads, sharing their primal products.</summary>
    public static void RunItems(int first, int count, Action<int> body)
    {
        var group = new PrimalSharing(count);
        try
        {
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
        finally
        {
            foreach (var buffer in group.published) buffer.Release();
        }
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

    /// <summary>Claims the next unclaimed part of product <paramref name="sequence"/>, of <paramref name="parts"/>; false when none is left.</summary>
    private bool TryClaim(long sequence, int parts, out int part)
    {
        ref long slotClaims = ref claims[sequence % InFlight];
        while (true)
        {
            long seen = Volatile.Read(ref slotClaims);
            int next = seen >> 8 == sequence ? (int)(seen & 0xFF) : 0;
            if (next >= parts)
            {
                part = -1;
                return false;
            }
            if (Interlocked.CompareExchange(ref slotClaims, sequence << 8 | (long)(next + 1), seen) == seen)
            {
                part = next;
                return true;
            }
        }
    }

    /// <summary>One item's side of the sharing; used by the item's own thread only, but for the fields others read.</summary>
    public sealed class Member(PrimalSharing group, bool late)
    {
        private long sequence;
        private bool alone = late;
        private int index = -1;
        // The last product this member arrived at and the last it copied; 0 before the first (products count from 1).
        private long arrived, copied;
        private int left;
        // The keys of the products in flight, by sequence number modulo InFlight: another member may still be
        // comparing its key of product s when this one has arrived at s + 1.
        private readonly object?[] keys = new object?[InFlight];

        private bool Left => Volatile.Read(ref left) != 0;

        internal void Leave() => Volatile.Write(ref left, 1);

        /// <summary>
        /// Fills an output of <paramref name="layout"/>.Rows rows at <paramref name="c"/>: <paramref name="compute"/>(start,
        /// end) computes rows (or columns, as the layout splits) [start, end) into this member's copy, which publishes
        /// them for the others; the rest is copied from what the others published. <paramref name="work"/> says what
        /// is computed (an op and its shapes): the members' must be equal.
        /// </summary>
        public void Share<TKey>(TKey work, byte* c, SharedLayout layout, Action<int, int> compute)
            where TKey : struct, IEquatable<TKey>
        {
            if (alone)
            {
                compute(0, layout.Extent);
                return;
            }
            var all = group.Members();
            if (all.Length == 1)
            {
                alone = true;
                compute(0, layout.Extent);
                return;
            }
            if (index < 0) index = Array.IndexOf(all, this);
            long s = ++sequence;
            int slot = (int)(s % InFlight);
            keys[slot] = work;
            // A full fence: of two members arriving together, at least one sees the other's key.
            Interlocked.Exchange(ref arrived, s);
            foreach (var other in all)
            {
                if (other == this || Volatile.Read(ref other.arrived) < s || other.keys[slot] is TKey theirs && theirs.Equals(work)) continue;
                alone = true;
                Leave();
                compute(0, layout.Extent);
                return;
            }
            try
            {
                // This product's slot was product s − InFlight's: every member must have copied that one's parts.
                foreach (var other in all)
                    if (other != this) AwaitCopied(other, s - InFlight);
                byte* published = group.published[slot].Reserve(layout.Rows * layout.StrideBytes);
                while (group.TryClaim(s, layout.Parts, out int part))
                {
                    ref long state = ref group.partStates[slot, part];
                    Volatile.Write(ref state, s << 8 | (long)index << 1);
                    ComputePart(layout, part, compute);
                    layout.Copy(part, c, published);
                    Volatile.Write(ref state, s << 8 | (long)index << 1 | 1);
                }
                for (int part = 0; part < layout.Parts; part++)
                    Fetch(all, s, c, published, layout, part, compute);
            }
            catch
            {
                Leave();
                throw;
            }
            Volatile.Write(ref copied, s);
        }

        /// <summary>
        /// Copies part <paramref name="part"/> from where the member that computed it published it, once it has;
        /// computes it if that member left first (it failed); nothing if this member computed it.
        /// </summary>
        private void Fetch(Member[] all, long s, byte* c, byte* published, SharedLayout layout, int part, Action<int, int> compute)
        {
            ref long partState = ref group.partStates[s % InFlight, part];
            var spinner = new SpinWait();
            while (true)
            {
                long state = Volatile.Read(ref partState);
                // Every part is claimed by now, but its claimer may not have stamped it yet.
                if (state >> 8 == s)
                {
                    var owner = all[(int)(state >> 1 & 0x7F)];
                    if (owner == this) return;
                    if ((state & 1) != 0)
                    {
                        layout.Copy(part, published, c);
                        return;
                    }
                    if (owner.Left && Volatile.Read(ref partState) == state)
                    {
                        ComputePart(layout, part, compute);
                        return;
                    }
                }
                spinner.SpinOnce(sleep1Threshold: -1);
            }
        }

        private static void ComputePart(SharedLayout layout, int part, Action<int, int> compute)
        {
            var (start, end) = layout.Range(part);
            compute(start, end);
        }

        /// <summary>
        /// Waits until <paramref name="other"/> has copied what it needs of product <paramref name="s"/>, or has left.
        /// At least s, not s: once it has, it may go on through the next product before this member looks.
        /// </summary>
        private static void AwaitCopied(Member other, long s)
        {
            var spinner = new SpinWait();
            while (Volatile.Read(ref other.copied) < s && !other.Left) spinner.SpinOnce(sleep1Threshold: -1);
        }
    }

    /// <summary>
    /// Where the members publish the parts of the products of one slot (<see cref="InFlight"/>), for those that did
    /// not compute them: a buffer of the group's rather than the computing member's output, which that member may
    /// change or free as soon as it has left the product.
    /// </summary>
    private sealed class PublishedParts
    {
        private readonly Lock gate = new();
        private nint address;
        private long bytes;

        /// <summary>The buffer, at least <paramref name="needed"/> bytes; grown only while no member reads it.</summary>
        public byte* Reserve(long needed)
        {
            lock (gate)
            {
                if (bytes < needed)
                {
                    Release();
                    (address, bytes) = BlockPool.Rent([needed]);
                }
                return (byte*)address;
            }
        }

        public void Release()
        {
            lock (gate)
            {
                if (address != 0) BlockPool.Return(address, bytes);
                (address, bytes) = (0, 0);
            }
        }
    }
}
