using Bilevel.Grid.Internal;

namespace Bilevel.Grid;

public abstract partial class RelationalGridStore
{
    public async Task<WorkerRecord> RecordWorkerHeartbeatAsync(WorkerRegistration worker, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(worker);
        worker.ThrowIfInvalid();
        await WriteAsync((connection, transaction, token) => connection.Command(transaction, Sql.UpsertWorker)
            .With("@id", worker.Id)
            .With("@host", worker.Host)
            .With("@process_id", worker.ProcessId)
            .With("@device_kind", StateNames.Of(worker.DeviceKind))
            .With("@slots", worker.Slots)
            .ExecuteAsync(token), cancellationToken).ConfigureAwait(false);
        return await ReadAsync((connection, token) => connection.Command(null, $"{Sql.Workers} WHERE w.id = @id")
            .With("@id", worker.Id)
            .SingleOrDefaultAsync(Rows.Worker, token), cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"Worker {worker.Id} was removed while it reported.");
    }

    public Task<IReadOnlyList<WorkerRecord>> ListWorkersAsync(CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<WorkerRecord>>(async (connection, token) =>
            await connection.Command(null, $"{Sql.Workers} ORDER BY w.id").ListAsync(Rows.Worker, token).ConfigureAwait(false),
            cancellationToken);

    public Task RemoveWorkerAsync(string workerId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(workerId);
        return WriteAsync((connection, transaction, token) =>
            connection.Command(transaction, Sql.DeleteWorker).With("@id", workerId).ExecuteAsync(token), cancellationToken);
    }
}
