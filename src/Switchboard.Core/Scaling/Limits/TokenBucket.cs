namespace Switchboard.Scaling.Limits;

/// <summary>
/// A token bucket read against a <see cref="TimeProvider"/>: it holds up to <c>burst</c> tokens, refills continuously
/// at <c>rate</c> per second, and a call takes one. The framework's <c>TokenBucketRateLimiter</c> refills from
/// <c>Stopwatch</c> ticks on a timer of its own, so neither a fake clock in tests nor the exact wait until the next
/// token (the <c>Retry-After</c> the caller gets) is available from it; this is the few lines that give both.
/// Not thread-safe: its owner takes a lock around it.
/// </summary>
internal sealed class TokenBucket(double rate, int burst, TimeProvider timeProvider)
{
    private double _tokens = burst;
    private long _refilledAt = timeProvider.GetTimestamp();

    /// <summary>Takes a token; when there is none, says how long until there is one.</summary>
    public bool TryTake(out TimeSpan retryAfter)
    {
        Refill();
        if (_tokens >= 1)
        {
            _tokens -= 1;
            retryAfter = TimeSpan.Zero;
            return true;
        }

        retryAfter = TimeSpan.FromSeconds((1 - _tokens) / rate);
        return false;
    }

    /// <summary>Gives back a token taken for a call that then did not run (at most up to the bucket's size).</summary>
    public void Return() => _tokens = Math.Min(burst, _tokens + 1);

    /// <summary>True when the bucket has refilled completely, so forgetting it loses nothing.</summary>
    public bool IsFull
    {
        get
        {
            Refill();
            return _tokens >= burst;
        }
    }

    private void Refill()
    {
        var now = timeProvider.GetTimestamp();
        var elapsed = timeProvider.GetElapsedTime(_refilledAt, now);
        if (elapsed > TimeSpan.Zero)
        {
            _tokens = Math.Min(burst, _tokens + (elapsed.TotalSeconds * rate));
            _refilledAt = now;
        }
    }
}
