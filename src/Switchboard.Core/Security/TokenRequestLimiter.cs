using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Options;

namespace Switchboard.Security;

/// <summary>
/// Limits token requests per client address in fixed one-minute windows. Client secrets are checked against slow
/// hashes, so an unlimited token endpoint is both a password-guessing oracle and a cheap way to burn the server's CPU.
/// Written against <see cref="TimeProvider"/> (the runtime's rate limiters run on their own timers) so the window is
/// testable with a fake clock.
/// </summary>
internal sealed class TokenRequestLimiter(IOptions<SecurityOptions> options, TimeProvider timeProvider)
{
    private const int PruneThreshold = 4096;
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, Counter> counters = new(StringComparer.Ordinal);

    /// <summary>Counts one request from <paramref name="address"/>; when over the limit, says how long to wait.</summary>
    public bool TryAcquire(IPAddress? address, out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        var limit = options.Value.TokenRequestsPerMinute;
        if (limit <= 0)
        {
            return true;
        }

        var now = timeProvider.GetUtcNow();
        var key = address?.IsIPv4MappedToIPv6 == true ? address.MapToIPv4().ToString() : address?.ToString() ?? "unknown";
        if (counters.Count > PruneThreshold)
        {
            Prune(now);
        }

        var counter = counters.GetOrAdd(key, static (_, start) => new Counter(start), now);
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

            counter.Count++;
            return true;
        }
    }

    private void Prune(DateTimeOffset now)
    {
        foreach (var (key, counter) in counters)
        {
            if (now - counter.WindowStart >= Window)
            {
                counters.TryRemove(key, out _);
            }
        }
    }

    private sealed class Counter(DateTimeOffset windowStart)
    {
        public DateTimeOffset WindowStart { get; set; } = windowStart;

        public int Count { get; set; }
    }
}
