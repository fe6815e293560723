using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Switchboard.Security;

/// <summary>
/// Ends long-lived Streamable HTTP responses whose credentials stopped being accepted. A request is authenticated once,
/// when it starts; most end within milliseconds, but an SSE stream — a 2025-11-25 session's GET stream, a 2026-07-28
/// <c>subscriptions/listen</c>, a slow tool call — can outlive its token's expiry or a revocation of the token or its
/// key. Once a second this checks every such request older than a second, as a new request with the same token would be
/// checked (expiry, revocation, key state), and aborts those that fail. WebSocket connections check themselves (they
/// can close with a reason); REST requests end with their call.
/// </summary>
internal sealed partial class CredentialWatchdog(AccessTokenValidator validator, TimeProvider timeProvider, ILogger<CredentialWatchdog> logger) : IDisposable
{
    private static readonly TimeSpan s_period = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<long, Watched> _requests = new();
    private readonly Lock _timerLock = new();
    private ITimer? _timer;
    private long _nextId;
    private int _checking;

    /// <summary>Watches <paramref name="context"/> until the returned registration is disposed (when the request ends).</summary>
    public Registration Watch(HttpContext context, CachedToken accepted)
    {
        if (_timer is null)
        {
            lock (_timerLock)
            {
                _timer ??= timeProvider.CreateTimer(static s => ((CredentialWatchdog)s!).OnTick(), this, s_period, s_period);
            }
        }

        var id = Interlocked.Increment(ref _nextId);
        _requests[id] = new Watched(context, accepted, timeProvider.GetTimestamp());
        return new Registration(this, id);
    }

    /// <summary>How many requests are being watched (for tests and diagnostics).</summary>
    public int Count => _requests.Count;

    public void Dispose() => _timer?.Dispose();

    private void OnTick()
    {
        // One pass at a time: a pass that waits on the key store must not be overtaken by the next tick.
        if (_requests.IsEmpty || Interlocked.Exchange(ref _checking, 1) == 1)
        {
            return;
        }

        _ = CheckAsync();
    }

    private async Task CheckAsync()
    {
        try
        {
            foreach (var (id, watched) in _requests)
            {
                if (timeProvider.GetElapsedTime(watched.StartedAt) < s_period)
                {
                    continue;
                }

                bool accepted;
                try
                {
                    accepted = await validator.IsStillAcceptedAsync(watched.Credentials, CancellationToken.None);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // The key store could not answer (an external JWKS down): keep serving; the next pass asks again.
                    Log.CheckFailed(logger, ex.GetType().Name);
                    continue;
                }

                if (!accepted && _requests.TryRemove(id, out _))
                {
                    Log.Ended(logger, watched.Context.Request.Method, watched.Context.Request.Path.Value ?? string.Empty);
                    watched.Context.Abort();
                }
            }
        }
        finally
        {
            Volatile.Write(ref _checking, 0);
        }
    }

    private sealed record Watched(HttpContext Context, CachedToken Credentials, long StartedAt);

    /// <summary>Stops watching a request when disposed.</summary>
    public readonly struct Registration(CredentialWatchdog owner, long id) : IDisposable
    {
        public void Dispose() => owner._requests.TryRemove(id, out _);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6205, EventName = "LongRequestCredentialsEnded", Level = LogLevel.Information, Message = "Ended a {Method} {Path} request: its token is no longer accepted (expired or revoked)")]
        public static partial void Ended(ILogger logger, string method, string path);

        [LoggerMessage(EventId = 6206, EventName = "LongRequestCredentialCheckFailed", Level = LogLevel.Warning, Message = "Could not check the credentials of long-lived requests ({ExceptionType}); trying again in a second")]
        public static partial void CheckFailed(ILogger logger, string exceptionType);
    }
}
