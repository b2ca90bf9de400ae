namespace Bilevel.Grid.Tests.Infrastructure;

/// <summary>
/// Waits for a condition on the store, polling briefly until a deadline; fails with what was expected. Leases are
/// measured by the database's clock, so tests wait for the database to see them expire rather than sleeping.
/// </summary>
internal static class Eventually
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(20);

    public static async Task<T> ReturnsAsync<T>(Func<Task<T>> probe, Func<T, bool> condition, string expectation, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (true)
        {
            var value = await probe();
            if (condition(value))
                return value;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Timed out after {timeout ?? DefaultTimeout} waiting until {expectation}.");
            await Task.Delay(25);
        }
    }
}
