namespace Bilevel.Grid.Internal;

/// <summary>Fans one "work may be available" event out to every subscribed worker loop.</summary>
internal sealed class WorkSignalHub
{
    private readonly Lock _gate = new();
    private readonly List<WorkSubscription> _subscriptions = [];

    public WorkSubscription Subscribe(TimeProvider time)
    {
        var subscription = new WorkSubscription(this, time);
        lock (_gate)
            _subscriptions.Add(subscription);
        return subscription;
    }

    public void Remove(WorkSubscription subscription)
    {
        lock (_gate)
            _subscriptions.Remove(subscription);
    }

    public void SignalAll()
    {
        WorkSubscription[] targets;
        lock (_gate)
            targets = [.. _subscriptions];
        foreach (var subscription in targets)
            subscription.Signal();
    }
}
