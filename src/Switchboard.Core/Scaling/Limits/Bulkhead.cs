using System.Threading.RateLimiting;

namespace Switchboard.Scaling.Limits;

/// <summary>
/// At most a number of calls at once, with a bounded first-come queue in front (the framework's
/// <see cref="ConcurrencyLimiter"/>); a queued call waits at most a timeout. Memory is bounded by the queue limit.
/// </summary>
internal sealed class Bulkhead(int permits, int queueLimit) : IDisposable
{
    private readonly ConcurrencyLimiter _limiter = new(new ConcurrencyLimiterOptions
    {
        PermitLimit = permits,
        QueueLimit = queueLimit,
        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
    });

    /// <summary>
    /// The rules a bulkhead's two settings follow wherever they are configured (per caller, per plugin): bounds, and no
    /// queue without slots. <paramref name="hasSlots"/> says whether the bulkhead they belong to has any.
    /// </summary>
    internal static void CheckSettings(string path, int? maxConcurrentCalls, int? maxQueuedCalls, bool hasSlots, List<string> failures)
    {
        if (maxConcurrentCalls is < 0 or > 100_000)
        {
            failures.Add($"{path}:MaxConcurrentCalls must be between 0 (off) and 100000.");
        }

        if (maxQueuedCalls is < 0 or > 100_000)
        {
            failures.Add($"{path}:MaxQueuedCalls must be between 0 and 100000.");
        }
        else if (maxQueuedCalls > 0 && !hasSlots)
        {
            failures.Add($"{path}:MaxQueuedCalls needs MaxConcurrentCalls: a queue without a bound has nothing to wait for.");
        }
    }

    public int Permits => permits;

    public int QueueLimit => queueLimit;

    /// <summary>Calls waiting for a slot now.</summary>
    public long Queued => _limiter.GetStatistics()?.CurrentQueuedCount ?? 0;

    /// <summary>True when no call holds a slot and none waits.</summary>
    public bool IsIdle
    {
        get
        {
            var statistics = _limiter.GetStatistics();
            return statistics is null || (statistics.CurrentAvailablePermits == permits && statistics.CurrentQueuedCount == 0);
        }
    }

    /// <summary>
    /// A slot, or null when all are taken and the queue is full, or the call waited <paramref name="queueTimeout"/> in it.
    /// Cancellation by the caller throws, as for any other wait.
    /// </summary>
    public async ValueTask<RateLimitLease?> EnterAsync(TimeSpan queueTimeout, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var lease = _limiter.AttemptAcquire();
        if (lease.IsAcquired)
        {
            return lease;
        }

        lease.Dispose();
        if (queueLimit == 0)
        {
            return null;
        }

        using var timeout = new CancellationTokenSource(queueTimeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            lease = await _limiter.AcquireAsync(1, linked.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }

        if (lease.IsAcquired)
        {
            return lease;
        }

        lease.Dispose();
        return null;
    }

    public void Dispose() => _limiter.Dispose();
}
