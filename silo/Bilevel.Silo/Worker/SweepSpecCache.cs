using System.Collections.Concurrent;
using Bilevel.Contracts;
using Bilevel.Grid;

namespace Bilevel.Silo.Worker;

/// <summary>Sweep specs by sweep id: immutable once submitted, so read from the store once per worker.</summary>
internal sealed class SweepSpecCache(IGridStore store)
{
    private readonly ConcurrentDictionary<long, SweepSpec> _specs = new();

    /// <summary>The sweep's spec, or null when the sweep no longer exists.</summary>
    public async Task<SweepSpec?> GetAsync(long sweepId, CancellationToken cancellationToken)
    {
        if (_specs.TryGetValue(sweepId, out var spec))
            return spec;
        var sweep = await store.GetSweepAsync(sweepId, cancellationToken).ConfigureAwait(false);
        if (sweep is null)
            return null;
        if (_specs.Count > 10_000)
            _specs.Clear();
        return _specs.GetOrAdd(sweepId, sweep.Spec);
    }
}
