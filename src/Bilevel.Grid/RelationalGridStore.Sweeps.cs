using System.Text.Json;
using Bilevel.Contracts;
using Bilevel.Grid.Internal;

namespace Bilevel.Grid;

public abstract partial class RelationalGridStore
{
    public async Task<SweepRecord> CreateSweepAsync(SweepSpec spec, CancellationToken cancellationToken)
    {
        var plans = SweepExpander.Expand(spec, Options.MaxTrialsPerSweep);
        var specJson = JsonSerializer.Serialize(spec, ContractJson.Options);
        var sweepId = await WriteAsync(async (connection, transaction, token) =>
        {
            var id = await connection.Command(transaction, Sql.InsertSweep)
                .With("@name", spec.Name)
                .With("@spec", specJson)
                .With("@priority", spec.Priority)
                .With("@device_kind", StateNames.Of(spec.Device.Kind))
                .With("@slots", spec.Device.Slots)
                .ScalarAsync<long>(token).ConfigureAwait(false);
            await InsertTrialsAsync(connection, transaction, id, spec, plans, token).ConfigureAwait(false);
            await AnnounceWorkAsync(connection, transaction, token).ConfigureAwait(false);
            return id;
        }, cancellationToken).ConfigureAwait(false);
        WorkCommitted();
        return await GetSweepAsync(sweepId, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"Sweep {sweepId} vanished right after it was created.");
    }

    public Task<SweepRecord?> GetSweepAsync(long sweepId, CancellationToken cancellationToken) =>
        ReadAsync((connection, token) => connection.Command(null, $"{Sql.SweepWithCounts} WHERE s.id = @sweep_id GROUP BY s.id")
            .With("@sweep_id", sweepId)
            .SingleOrDefaultAsync(Rows.Sweep, token), cancellationToken);

    public Task<PageView<SweepRecord>> ListSweepsAsync(SweepListRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ThrowIfInvalid(request.Validate());
        long? before = request.Cursor is null ? null : SweepCursor.Decode(request.Cursor);
        return ReadAsync(async (connection, token) =>
        {
            var filter = request.State is null ? "" : " WHERE s.state = @state";
            var total = await connection.Command(null, $"SELECT COUNT(*) FROM sweeps s{filter}")
                .WithIf(request.State is not null, "@state", () => StateNames.Of(request.State!.Value))
                .ScalarAsync<long>(token).ConfigureAwait(false);
            var keyset = before is null ? "" : (filter.Length == 0 ? " WHERE" : " AND") + " s.id < @before";
            var rows = await connection.Command(null, $"{Sql.SweepWithCounts}{filter}{keyset} GROUP BY s.id ORDER BY s.id DESC LIMIT @limit")
                .WithIf(request.State is not null, "@state", () => StateNames.Of(request.State!.Value))
                .WithIf(before is not null, "@before", () => before!.Value)
                .With("@limit", request.PageSize + 1)
                .ListAsync(Rows.Sweep, token).ConfigureAwait(false);
            var more = rows.Count > request.PageSize;
            if (more)
                rows.RemoveAt(rows.Count - 1);
            return new PageView<SweepRecord>(rows, more ? SweepCursor.Encode(rows[^1].Id) : null, total);
        }, cancellationToken);
    }

    public Task<SweepTransitionResult> PauseSweepAsync(long sweepId, CancellationToken cancellationToken) =>
        MoveSweepAsync(sweepId, SweepState.Paused, cancellationToken);

    public async Task<SweepTransitionResult> ResumeSweepAsync(long sweepId, CancellationToken cancellationToken)
    {
        var result = await MoveSweepAsync(sweepId, SweepState.Active, cancellationToken).ConfigureAwait(false);
        if (result.Outcome == SweepTransitionOutcome.Applied)
            WorkCommitted();
        return result;
    }

    public Task<SweepTransitionResult> CancelSweepAsync(long sweepId, CancellationToken cancellationToken) =>
        MoveSweepAsync(sweepId, SweepState.Cancelled, cancellationToken);

    private Task<SweepTransitionResult> MoveSweepAsync(long sweepId, SweepState target, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction, token) =>
        {
            var text = await connection.Command(transaction, Sql.LockSweep).With("@sweep_id", sweepId)
                .ScalarAsync<string>(token).ConfigureAwait(false);
            if (text is null)
                return new SweepTransitionResult(SweepTransitionOutcome.NotFound, null);
            var current = StateNames.SweepStateOf(text);
            if (current == target)
                return new SweepTransitionResult(SweepTransitionOutcome.Unchanged, current);
            if (!SweepStateMachine.CanMove(current, target))
                return new SweepTransitionResult(SweepTransitionOutcome.NotAllowed, current);
            await connection.Command(transaction, Sql.SetSweepState)
                .With("@state", StateNames.Of(target))
                .With("@final", SweepStateMachine.IsFinal(target))
                .With("@sweep_id", sweepId)
                .ExecuteAsync(token).ConfigureAwait(false);
            if (target == SweepState.Cancelled)
            {
                await connection.Command(transaction, Sql.CancelTrialsOfSweep).With("@sweep_id", sweepId)
                    .ExecuteAsync(token).ConfigureAwait(false);
            }
            if (target == SweepState.Active)
                await AnnounceWorkAsync(connection, transaction, token).ConfigureAwait(false);
            return new SweepTransitionResult(SweepTransitionOutcome.Applied, target);
        }, cancellationToken);

    private static void ThrowIfInvalid(IReadOnlyList<FieldError> errors)
    {
        if (errors.Count > 0)
            throw new ArgumentException(string.Join("; ", errors));
    }
}
