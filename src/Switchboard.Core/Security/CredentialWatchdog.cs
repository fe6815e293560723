using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Switchboard.Security;

/// <summary>
/// Ends requests that outlive their credentials. A request is authenticated once, when it starts; most end within
/// milliseconds, but a WebSocket connection, a Streamable HTTP SSE stream (a 2025-11-25 session's GET stream, a
/// 2026-07-28 <c>subscriptions/listen</c>) or a slow tool call can outlive its token's expiry or a revocation of the
/// token or its key. Once a second this checks every authenticated request older than a second, as a new request with
/// the same token would be checked, and ends those that fail: by the transport's own way when it registered one
/// (<see cref="WatchedRequest.End"/>; a WebSocket closes with 1008), else by aborting the request.
/// </summary>
internal sealed partial class CredentialWatchdog(AccessTokenValidator validator, TimeProvider timeProvider, ILogger<CredentialWatchdog> logger) : IDisposable
{
    /// <summary>The reason given when the token is past its <c>exp</c> plus skew.</summary>
    public const string ExpiredReason = "token expired";

    /// <summary>The reason given when the token, or the key that verified it, is no longer accepted.</summary>
    public const string RevokedReason = "token no longer accepted";

    private static readonly TimeSpan s_period = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<long, WatchedRequest> _requests = new();
    private readonly Lock _timerLock = new();
    private ITimer? _timer;
    private long _nextId;
    private int _checking;

    /// <summary>Watches <paramref name="context"/> until the returned registration is disposed (when the request ends).</summary>
    public WatchedRequest Watch(HttpContext context, CachedToken accepted)
    {
        if (_timer is null)
        {
            lock (_timerLock)
            {
                _timer ??= timeProvider.CreateTimer(static s => ((CredentialWatchdog)s!).OnTick(), this, s_period, s_period);
            }
        }

        var watched = new WatchedRequest(this, Interlocked.Increment(ref _nextId), context, accepted, timeProvider.GetTimestamp());
        _requests[watched.Id] = watched;
        return watched;
    }

    /// <summary>How many requests are being watched (for tests and diagnostics).</summary>
    public int Count => _requests.Count;

    public void Dispose() => _timer?.Dispose();

    internal void Forget(long id) => _requests.TryRemove(id, out _);

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

                string reason;
                try
                {
                    if (timeProvider.GetUtcNow() >= watched.Credentials.ValidUntil)
                    {
                        reason = ExpiredReason;
                    }
                    else if (!await validator.IsStillAcceptedAsync(watched.Credentials, CancellationToken.None))
                    {
                        reason = RevokedReason;
                    }
                    else
                    {
                        continue;
                    }
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // The key store could not answer (an external JWKS down): keep serving; the next pass asks again.
                    Log.CheckFailed(logger, ex.GetType().Name);
                    continue;
                }

                if (_requests.TryRemove(id, out _))
                {
                    Log.Ended(logger, watched.Context.Request.Method, watched.Context.Request.Path.Value ?? string.Empty, reason);
                    if (watched.End is { } end)
                    {
                        _ = end(reason);
                    }
                    else
                    {
                        watched.Context.Abort();
                    }
                }
            }
        }
        finally
        {
            Volatile.Write(ref _checking, 0);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6205, EventName = "LongRequestCredentialsEnded", Level = LogLevel.Information, Message = "Ended a {Method} {Path} request: {Reason}")]
        public static partial void Ended(ILogger logger, string method, string path, string reason);

        [LoggerMessage(EventId = 6206, EventName = "LongRequestCredentialCheckFailed", Level = LogLevel.Warning, Message = "Could not check the credentials of long-lived requests ({ExceptionType}); trying again in a second")]
        public static partial void CheckFailed(ILogger logger, string exceptionType);
    }
}

/// <summary>
/// An authenticated request the <see cref="CredentialWatchdog"/> watches; set as a request feature so the transport can
/// choose how it ends. Disposing it stops the watch.
/// </summary>
internal sealed class WatchedRequest(CredentialWatchdog owner, long id, HttpContext context, CachedToken credentials, long startedAt) : IDisposable
{
    public long Id { get; } = id;

    public HttpContext Context { get; } = context;

    public CachedToken Credentials { get; } = credentials;

    public long StartedAt { get; } = startedAt;

    /// <summary>How the request ends when its credentials do, given the reason; when unset the request is aborted.</summary>
    public Func<string, Task>? End { get; set; }

    public void Dispose() => owner.Forget(Id);
}
