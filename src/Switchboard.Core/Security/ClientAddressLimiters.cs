using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Switchboard.Security;

/// <summary>
/// Counts events per client address in fixed one-minute windows. Written against <see cref="TimeProvider"/> (the
/// runtime's rate limiters run on their own timers) so the window is testable with a fake clock.
/// </summary>
internal sealed class ClientAddressCounter(Func<int> limitPerMinute, TimeProvider timeProvider)
{
    private const int PruneThreshold = 4096;
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<IPAddress, Counter> _counters = new();

    /// <summary>Counts one event from <paramref name="address"/> unless it is over the limit; then says how long to wait.</summary>
    public bool TryCount(IPAddress? address, out TimeSpan retryAfter) => Check(address, count: true, out retryAfter);

    /// <summary>True when <paramref name="address"/> has reached the limit in the current window (counts nothing).</summary>
    public bool IsOverLimit(IPAddress? address, out TimeSpan retryAfter) => !Check(address, count: false, out retryAfter);

    private bool Check(IPAddress? address, bool count, out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        var limit = limitPerMinute();
        if (limit <= 0)
        {
            return true;
        }

        var now = timeProvider.GetUtcNow();
        // Keyed by the address itself (no string per request: the check runs on every authenticated call).
        var key = address is null ? IPAddress.None : address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        if (!count && !_counters.ContainsKey(key))
        {
            return true;
        }

        if (_counters.Count > PruneThreshold)
        {
            Prune(now);
        }

        var counter = _counters.GetOrAdd(key, static (_, start) => new Counter(start), now);
        lock (counter)
        {
            if (now - counter.WindowStart >= Window)
            {
                counter.WindowStart = now;
                counter.Count = 0;
            }

            if (counter.Count >= limit)
            {
                retryAfter = counter.WindowStart + Window - now;
                return false;
            }

            if (count)
            {
                counter.Count++;
            }

            return true;
        }
    }

    private void Prune(DateTimeOffset now)
    {
        foreach (var (key, counter) in _counters)
        {
            if (now - counter.WindowStart >= Window)
            {
                _counters.TryRemove(key, out _);
            }
        }
    }

    private sealed class Counter(DateTimeOffset windowStart)
    {
        public DateTimeOffset WindowStart { get; set; } = windowStart;

        public int Count { get; set; }
    }
}

/// <summary>
/// Limits token requests per client address. Client secrets are checked against slow hashes, so an unlimited token
/// endpoint is both a password-guessing oracle and a cheap way to burn the server's CPU.
/// </summary>
internal sealed class TokenRequestLimiter(IOptions<SecurityOptions> options, TimeProvider timeProvider)
{
    private readonly ClientAddressCounter _counter = new(() => options.Value.TokenRequestsPerMinute, timeProvider);

    /// <summary>Counts one request from <paramref name="address"/>; when over the limit, says how long to wait.</summary>
    public bool TryAcquire(IPAddress? address, out TimeSpan retryAfter) => _counter.TryCount(address, out retryAfter);
}

/// <summary>
/// Limits failed authentications per client address on the tool endpoints. A forged token costs a signature check
/// (about 180 µs of CPU for ES256), so unlimited guessing is a cheap way to burn the server; once an address has failed
/// <see cref="SecurityOptions.FailedAuthenticationsPerMinute"/> times in a window, every credential it presents is
/// refused with 429 until the window ends — valid ones too, so guessing gains nothing from one lucky try.
/// </summary>
internal sealed partial class FailedAuthenticationLimiter(IOptions<SecurityOptions> options, TimeProvider timeProvider, ILogger<FailedAuthenticationLimiter> logger)
{
    private readonly ClientAddressCounter _counter = new(() => options.Value.FailedAuthenticationsPerMinute, timeProvider);

    /// <summary>True when <paramref name="address"/> is over the limit (nothing is validated for it until the window ends).</summary>
    public bool IsBlocked(IPAddress? address, out TimeSpan retryAfter) => _counter.IsOverLimit(address, out retryAfter);

    /// <summary>Counts one refused credential from <paramref name="address"/>; true (and a warning logged) when this one reached the limit.</summary>
    public bool RecordFailure(IPAddress? address)
    {
        if (!_counter.TryCount(address, out _) || !_counter.IsOverLimit(address, out _))
        {
            return false;
        }

        Log.LimitReached(logger, address?.ToString() ?? "unknown", options.Value.FailedAuthenticationsPerMinute);
        return true;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6203, EventName = "AuthenticationLimitReached", Level = LogLevel.Warning, Message = "{Address} presented {Limit} refused credentials this minute; its credentials are refused with 429 until the minute is over")]
        public static partial void LimitReached(ILogger logger, [Compliance.PrivateData] string address, int limit);
    }
}
