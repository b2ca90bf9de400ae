namespace Bilevel.Tensors.Tests;

/// <summary>
/// <see cref="TensorScope"/> semantics: what a scope creates dies with it unless kept; kept tensors (with their
/// tangents) move to the enclosing scope; scopes nest and must end innermost first, on their own thread.
/// </summary>
public class OwnershipTests
{
    [Fact]
    public void Tensors_created_in_a_scope_are_disposed_when_it_ends()
    {
        Tensor<double> x, y, s;
        using (var scope = TensorScope.Begin())
        {
            x = Tensor<double>.FromArray([1.0, 2.0, 3.0], 3);
            y = Ops.Exp(x);
            s = Ops.Sum(x);
            Assert.Equal(3, scope.OwnedCount);
            Assert.False(x.IsDisposed);
            Assert.Equal(Math.E, y.Span[0], 15);
        }
        Assert.True(x.IsDisposed);
        Assert.True(y.IsDisposed);
        var e = Assert.Throws<ObjectDisposedException>(() => x.ToArray());
        Assert.Contains("disposed", e.Message, StringComparison.Ordinal);
        Assert.Throws<ObjectDisposedException>(() => x.Span[0]);
        Assert.True(s.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => s.Item());
    }

    [Fact]
    public void Ops_on_a_disposed_tensor_throw_ObjectDisposedException()
    {
        var live = Tensor<double>.FromArray([1.0, 2.0, 3.0], 3);
        var row = Tensor<double>.FromArray([1.0, 2.0, 3.0], 1, 3);
        Tensor<double> dead, deadColumn;
        using (TensorScope.Begin())
        {
            dead = Tensor<double>.FromArray([1.0, 2.0, 3.0], 3);
            deadColumn = Tensor<double>.FromArray([1.0, 2.0, 3.0], 3, 1);
        }
        Assert.Throws<ObjectDisposedException>(() => Ops.Exp(dead));
        Assert.Throws<ObjectDisposedException>(() => Ops.Add(live, dead));
        Assert.Throws<ObjectDisposedException>(() => Ops.Add(dead, live));
        Assert.Throws<ObjectDisposedException>(() => Ops.Sum(dead));
        Assert.Throws<ObjectDisposedException>(() => Ops.Max(dead, [0]));
        Assert.Throws<ObjectDisposedException>(() => Ops.Reshape(dead, 3, 1));
        Assert.Throws<ObjectDisposedException>(() => Ops.MatMul(row, deadColumn));
        Assert.Throws<ObjectDisposedException>(() => Ops.MatMul(deadColumn, row));
        Assert.Throws<ObjectDisposedException>(() => Ops.Slice(dead, 0, 0, 1));
        Assert.Throws<ObjectDisposedException>(() => Autodiff.Grad(v => Ops.Sum(v[0]), dead));
        Assert.Throws<ObjectDisposedException>(() => Autodiff.Jvp(v => Ops.Exp(v[0]), [live], [dead]));
        live.Dispose();
        row.Dispose();
    }

    [Fact]
    public void Dispose_is_idempotent_and_a_tensor_outside_any_scope_lives_until_disposed()
    {
        var t = Tensor<float>.Full(new Shape(4), 2f);
        using (TensorScope.Begin()) { }
        Assert.False(t.IsDisposed);
        t.Dispose();
        t.Dispose();
        Assert.True(t.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => t.ToArray());
    }

    [Fact]
    public void Keep_moves_a_tensor_and_its_tangents_to_the_parent_scope()
    {
        var outer = TensorScope.Begin();
        Tensor<double> kept, dropped, droppedTangentOutput;
        using (var inner = TensorScope.Begin())
        {
            var x = Tensor<double>.FromArray([0.0, 1.0, 2.0], 3);
            var (y, _) = Autodiff.Jvp(v => Ops.Exp(v[0]), [x], [Tensor<double>.Full(x.Shape, 2.0)]);
            Assert.NotNull(y.Tangent);
            kept = inner.Keep(y);
            Assert.Same(y, kept);
            dropped = x;
            droppedTangentOutput = Ops.Exp(x);
        }
        Assert.True(dropped.IsDisposed);
        Assert.True(droppedTangentOutput.IsDisposed);
        Assert.False(kept.IsDisposed);
        Assert.False(kept.Tangent!.IsDisposed);
        Assert.Equal(new[] { 1.0, Math.E, Math.Exp(2) }, kept.ToArray(), new ToleranceComparer(1e-15));
        Assert.Equal(new[] { 2.0, 2 * Math.E, 2 * Math.Exp(2) }, kept.Tangent.ToArray(), new ToleranceComparer(1e-15));
        outer.Dispose();
        Assert.True(kept.IsDisposed);
        Assert.True(kept.Tangent.IsDisposed);
    }

    [Fact]
    public void Keep_at_the_outermost_scope_hands_the_tensor_to_the_caller()
    {
        Tensor<double> t;
        using (var scope = TensorScope.Begin()) t = scope.Keep(Tensor<double>.Zeros(2, 2));
        Assert.False(t.IsDisposed);
        Assert.Equal(new double[4], t.ToArray());
        t.Dispose();
    }

    [Fact]
    public void A_kept_view_keeps_the_shared_buffer_alive()
    {
        using var outer = TensorScope.Begin();
        Tensor<double> x, view;
        using (var inner = TensorScope.Begin())
        {
            x = Tensor<double>.FromArray([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3);
            view = inner.Keep(Ops.Reshape(x, 3, 2));
        }
        Assert.True(x.IsDisposed);
        Assert.False(view.IsDisposed);
        Assert.Equal([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], view.ToArray());
        // A buffer freed too early would be handed out again: a new tensor must not overwrite the view.
        using (TensorScope.Begin()) Tensor<double>.Full(new Shape(6), -1.0).Dispose();
        _ = Tensor<double>.Full(new Shape(6), -7.0);
        Assert.Equal([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], view.ToArray());
    }

    [Fact]
    public void Nested_scopes_free_only_their_own_tensors()
    {
        var outer = TensorScope.Begin();
        var a = Tensor<double>.Zeros(2);
        var middle = TensorScope.Begin();
        var b = Tensor<double>.Zeros(2);
        var inner = TensorScope.Begin();
        var c = Tensor<double>.Zeros(2);
        var keptToMiddle = inner.Keep(Tensor<double>.Zeros(2));
        Assert.Equal(1, outer.OwnedCount);
        Assert.Equal(2, middle.OwnedCount);
        Assert.Equal(1, inner.OwnedCount);

        inner.Dispose();
        Assert.True(c.IsDisposed);
        Assert.False(b.IsDisposed);
        Assert.False(keptToMiddle.IsDisposed);
        Assert.Equal(2, middle.OwnedCount);

        middle.Dispose();
        Assert.True(b.IsDisposed);
        Assert.True(keptToMiddle.IsDisposed);
        Assert.False(a.IsDisposed);

        // A tensor created now belongs to the outer scope again.
        var d = Tensor<double>.Zeros(2);
        Assert.Equal(2, outer.OwnedCount);
        outer.Dispose();
        Assert.True(a.IsDisposed);
        Assert.True(d.IsDisposed);
    }

    [Fact]
    public void Disposing_out_of_order_throws_and_leaves_both_scopes_usable()
    {
        var outer = TensorScope.Begin();
        var a = Tensor<double>.Zeros(2);
        var inner = TensorScope.Begin();
        var b = Tensor<double>.Zeros(2);
        try
        {
            var e = Assert.Throws<InvalidOperationException>(outer.Dispose);
            Assert.Contains("innermost first", e.Message, StringComparison.Ordinal);
            Assert.False(a.IsDisposed);
            Assert.False(b.IsDisposed);
            // The inner scope is still the current one.
            var c = Tensor<double>.Zeros(2);
            Assert.Equal(2, inner.OwnedCount);
            Assert.Equal(1, outer.OwnedCount);
            Assert.False(c.IsDisposed);
        }
        finally
        {
            inner.Dispose();
            outer.Dispose();
        }
        Assert.True(a.IsDisposed);
        Assert.True(b.IsDisposed);
    }

    [Fact]
    public void Disposing_on_another_thread_throws()
    {
        var scope = TensorScope.Begin();
        try
        {
            Exception? caught = null;
            var thread = new Thread(() =>
            {
                try
                {
                    scope.Dispose();
                }
                catch (InvalidOperationException e)
                {
                    caught = e;
                }
            });
            thread.Start();
            thread.Join();
            Assert.IsType<InvalidOperationException>(caught);
        }
        finally
        {
            scope.Dispose();
        }
    }

    [Fact]
    public void Keep_on_an_ended_scope_throws()
    {
        var t = Tensor<double>.Zeros(2);
        var scope = TensorScope.Begin();
        scope.Dispose();
        Assert.Throws<ObjectDisposedException>(() => scope.Keep(t));
    }

    [Fact]
    public unsafe void Buffers_go_back_to_the_pool_and_are_reused()
    {
        // An odd length that no other test allocates, so the pool's bucket is this test's own; below the mapping
        // threshold (32 KiB), so that a concurrent test's release on miss never frees it.
        const int length = 4093;
        double* first;
        using (TensorScope.Begin()) first = Tensor<double>.Zeros(length).Buffer.Pointer;
        using (TensorScope.Begin())
        {
            var again = Tensor<double>.Zeros(length);
            Assert.True(first == again.Buffer.Pointer, "a tensor of the same size did not get the returned buffer back");
        }
    }

    [Fact]
    public void Gradients_computed_in_a_scope_die_with_it_unless_kept()
    {
        var w = Tensor<double>.FromArray([0.5, -0.25, 1.0], 3);
        Tensor<double> kept, dropped;
        using (var scope = TensorScope.Begin())
        {
            var (value, grads) = Autodiff.ValueAndGrad(v => Ops.Sum(Ops.Mul(v[0], v[0])), w);
            Assert.Equal(1.3125, value.ItemAsDouble(), 15);
            kept = scope.Keep(grads[0]);
            dropped = value;
            Assert.True(scope.OwnedCount > 1);
        }
        Assert.True(dropped.IsDisposed);
        Assert.Equal([1.0, -0.5, 2.0], kept.ToArray());
        Assert.False(w.IsDisposed);
        kept.Dispose();
        w.Dispose();
    }

    private sealed class ToleranceComparer(double relative) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= relative * Math.Max(Math.Abs(x), Math.Abs(y));

        public int GetHashCode(double obj) => 0;
    }
}

/// <summary>Memory measurements are process-wide: they run alone, after every parallel test.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessMemoryCollection
{
    public const string Name = "Process memory";
}

/// <summary>
/// A long inner loop must not grow the process: each step's temporaries go back to the pool when its scope ends, and
/// only the new parameters are kept. Measured between step 1,000 (pool and JIT warm) and step 10,000, after an
/// aggressive full collection, in three parts: the live managed heap must grow by less than 1 MiB; the resident
/// memory outside the GC (RSS − GC-committed: the pool's tensor buffers, thread stacks, JIT) by less than 16 MiB;
/// and the memory the GC keeps committed by less than 64 MiB. The last is separate
/// because, in a process that earlier tests left with a heap of several GiB, the GC retunes its allocation budget
/// during the loop and keeps tens of MiB committed for it (seen: +26 MiB once, then flat) — not a leak, but enough to
/// push the plain RSS difference past 16 MiB. In a fresh process the plain RSS grows by about 7 MiB.
/// </summary>
[Collection(ProcessMemoryCollection.Name)]
public class MemoryTests
{
    private const long HeapBound = 1L << 20;        // 1 MiB
    private const long NativeBound = 16L << 20;     // 16 MiB
    private const long CommittedBound = 64L << 20;  // 64 MiB
    private const int Batch = 32, Inputs = 64, Hidden = 32, Classes = 10;

    [Fact]
    public void Ten_thousand_training_steps_grow_neither_the_heap_nor_the_process()
    {
        using var run = TensorScope.Begin();
        var (x, onehot) = Data();
        Func<Tensor<double>[], Tensor<double>> loss = p => Loss(p, x, onehot);
        var parameters = Initial();
        const double rate = 0.2;
        double firstLoss = double.NaN, lastLoss = double.NaN;
        var atStep1000 = default(Snapshot);
        for (int step = 1; step <= 10_000; step++)
        {
            var old = parameters;
            using (var scope = TensorScope.Begin())
            {
                var (value, grads) = Autodiff.ValueAndGrad(loss, parameters);
                lastLoss = value.ItemAsDouble();
                if (step == 1) firstLoss = lastLoss;
                parameters = new Tensor<double>[old.Length];
                for (int i = 0; i < old.Length; i++)
                    parameters[i] = scope.Keep(Ops.Sub(old[i], Ops.Scale(grads[i], rate)));
            }
            foreach (var p in old) p.Dispose();
            if (step == 1_000) atStep1000 = Snapshot.Take();
        }
        var atStep10000 = Snapshot.Take();

        Assert.True(double.IsFinite(lastLoss) && lastLoss < 0.5 * firstLoss, $"SGD did not train: loss {firstLoss} → {lastLoss}");
        AssertBounded("training step", 1_000, atStep1000, 10_000, atStep10000);
    }

    [Fact]
    public void A_thousand_hessian_vector_steps_grow_neither_the_heap_nor_the_process()
    {
        using var run = TensorScope.Begin();
        var (x, onehot) = Data();
        Func<Tensor<double>[], Tensor<double>> loss = p => Loss(p, x, onehot);
        var parameters = Initial();
        // Power iteration on the Hessian: v ← Hv / ‖Hv‖, one Jvp over Grad per step, keeping only the new v.
        var rng = new Random(8);
        var v = parameters.Select(p => Tensor<double>.FromArray(Enumerable.Range(0, p.Length).Select(_ => GradCheck.Normal(rng)).ToArray(), p.Shape.ToArray())).ToArray();
        double rayleigh = double.NaN;
        var atStep100 = default(Snapshot);
        for (int step = 1; step <= 1_000; step++)
        {
            var old = v;
            using (var scope = TensorScope.Begin())
            {
                var (_, hv) = Autodiff.Jvp(p => Autodiff.Grad(loss, p), parameters, v);
                double norm = Math.Sqrt(hv.Sum(t => Ops.SquaredNorm(t).ItemAsDouble()));
                double vNorm = Math.Sqrt(v.Sum(t => Ops.SquaredNorm(t).ItemAsDouble()));
                rayleigh = v.Zip(hv).Sum(pair => Ops.Sum(Ops.Mul(pair.First, pair.Second)).ItemAsDouble()) / (vNorm * vNorm);
                v = hv.Select(t => scope.Keep(Ops.Scale(t, 1 / norm))).ToArray();
            }
            foreach (var t in old) t.Dispose();
            if (step == 100) atStep100 = Snapshot.Take();
        }
        var atStep1000 = Snapshot.Take();

        Assert.True(double.IsFinite(rayleigh) && rayleigh != 0, $"power iteration gave Rayleigh quotient {rayleigh}");
        AssertBounded("HVP step", 100, atStep100, 1_000, atStep1000);
    }

    private static void AssertBounded(string what, int firstStep, Snapshot first, int lastStep, Snapshot last)
    {
        static string MiB(long bytes) => (bytes / 1048576.0).ToString("F2", System.Globalization.CultureInfo.InvariantCulture) + " MiB";
        string context = $"between {what} {firstStep:N0} ({first}) and {what} {lastStep:N0} ({last})";
        Assert.True(last.Heap - first.Heap < HeapBound, $"live managed heap grew by {MiB(last.Heap - first.Heap)} {context}; bound {MiB(HeapBound)}");
        Assert.True(last.Native - first.Native < NativeBound, $"resident memory outside the GC grew by {MiB(last.Native - first.Native)} {context}; bound {MiB(NativeBound)}");
        Assert.True(last.Committed - first.Committed < CommittedBound, $"GC-committed memory grew by {MiB(last.Committed - first.Committed)} {context}; bound {MiB(CommittedBound)}");
    }

    /// <summary>Live managed bytes, GC-committed bytes and resident set, after an aggressive full collection.</summary>
    private readonly record struct Snapshot(long Heap, long Committed, long Rss)
    {
        public long Native => Rss - Committed;

        public static Snapshot Take()
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            return new Snapshot(GC.GetTotalMemory(forceFullCollection: false), GC.GetGCMemoryInfo().TotalCommittedBytes, Environment.WorkingSet);
        }

        public override string ToString()
            => string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"heap {Heap / 1048576.0:F1} MiB, GC-committed {Committed / 1048576.0:F1} MiB, RSS {Rss / 1048576.0:F1} MiB");
    }

    /// <summary>Mean softmax cross-entropy of a 64-32-10 ReLU network.</summary>
    private static Tensor<double> Loss(Tensor<double>[] p, Tensor<double> x, Tensor<double> onehot)
    {
        var h = Ops.Relu(Ops.Add(Ops.MatMul(x, p[0]), p[1]));
        var logits = Ops.Add(Ops.MatMul(h, p[2]), p[3]);
        return Ops.Mean(Ops.Sub(Ops.LogSumExp(logits, [1]), Ops.Sum(Ops.Mul(logits, onehot), [1])));
    }

    private static (Tensor<double> X, Tensor<double> OneHot) Data()
    {
        var rng = new Random(2);
        var x = Tensor<double>.FromArray(Enumerable.Range(0, Batch * Inputs).Select(_ => GradCheck.Normal(rng)).ToArray(), Batch, Inputs);
        var onehot = new double[Batch * Classes];
        for (int i = 0; i < Batch; i++) onehot[i * Classes + rng.Next(Classes)] = 1;
        return (x, Tensor<double>.FromArray(onehot, Batch, Classes));
    }

    private static Tensor<double>[] Initial()
    {
        var rng = new Random(3);
        Tensor<double> Init(double scale, params int[] dims)
            => Tensor<double>.FromArray(Enumerable.Range(0, dims.Aggregate(1, (a, b) => a * b)).Select(_ => scale * GradCheck.Normal(rng)).ToArray(), dims);
        return [Init(1 / Math.Sqrt(Inputs), Inputs, Hidden), Init(0.01, Hidden), Init(1 / Math.Sqrt(Hidden), Hidden, Classes), Init(0.01, Classes)];
    }
}
