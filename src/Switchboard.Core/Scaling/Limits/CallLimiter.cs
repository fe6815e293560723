using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Globalization;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Switchboard.Hosting;
using Switchboard.Pipeline;
using Switchboard.Security;

namespace Switchboard.Scaling.Limits;

/// <summary>
/// Decides whether a tool call may start now: its caller's rate (a token bucket), its caller's bulkhead (calls at once,
/// with a bounded queue) and its plugin's bulkhead. Budgets are per replica and held in memory; a caller's budget is
/// forgotten once it has been idle (bucket full, nothing running or queued) at a sweep, so memory follows the callers
/// seen recently, not every caller ever seen.
/// </summary>
public sealed class CallLimiter : IDisposable
{
    internal static readonly TimeSpan SweepInterval = TimeSpan.FromMinutes(1);

    private readonly CallLimitOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly FrozenDictionary<string, Bulkhead> _plugins;

    // The named callers' settings with what they inherit from PerCaller, merged once rather than on every call.
    private readonly FrozenDictionary<string, CallerLimitSettings> _namedCallers;
    private readonly ConcurrentDictionary<(string Issuer, string Name), CallerBudget> _callers = new();
    private readonly bool _limitsCallers;
    private readonly ITimer? _sweep;
    private bool _disposed;

    public CallLimiter(IOptions<CallLimitOptions> options, IOptions<SwitchboardOptions> switchboard, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(switchboard);
        _options = options.Value;
        _timeProvider = timeProvider;
        _namedCallers = _options.Callers.ToFrozenDictionary(c => c.Key, c => c.Value.Over(_options.PerCaller), StringComparer.Ordinal);
        _limitsCallers = Limits(_options.PerCaller) || _namedCallers.Values.Any(Limits);
        _plugins = switchboard.Value.Plugins
            .Where(p => p.Value.MaxConcurrentCalls is > 0)
            .ToFrozenDictionary(p => p.Key, p => new Bulkhead(p.Value.MaxConcurrentCalls!.Value, p.Value.MaxQueuedCalls ?? 0), StringComparer.Ordinal);
        if (_limitsCallers)
        {
            _sweep = timeProvider.CreateTimer(static state => ((CallLimiter)state!).Sweep(), this, SweepInterval, SweepInterval);
        }
    }

    /// <summary>False when no limit is configured: the stage then passes every call straight on.</summary>
    public bool IsActive => _limitsCallers || _plugins.Count > 0;

    /// <summary>How many callers' budgets are held (for tests and diagnostics).</summary>
    internal int CallerBudgetCount => _callers.Count;

    /// <summary>Calls waiting for a slot of <paramref name="plugin"/>'s bulkhead now (for tests and diagnostics).</summary>
    internal long QueuedFor(string plugin) => _plugins.TryGetValue(plugin, out var bulkhead) ? bulkhead.Queued : 0;

    /// <summary>Admits the call of <paramref name="caller"/> to <paramref name="plugin"/>, or says why not and when to retry.</summary>
    internal async ValueTask<CallAdmission> AdmitAsync(ClaimsPrincipal? caller, string plugin, CancellationToken cancellationToken)
    {
        RateLimitLease? callerLease = null;
        CallerBudget? tokenFrom = null;
        if (_limitsCallers)
        {
            var key = PartitionOf(caller);
            var settings = _namedCallers.TryGetValue(key.Name, out var own) ? own : _options.PerCaller;
            if (Limits(settings))
            {
                (var admission, tokenFrom) = await AdmitCallerAsync(key, settings, cancellationToken);
                if (admission.Refusal is not null)
                {
                    return admission;
                }

                callerLease = admission.CallerLease;
            }
        }

        if (_plugins.TryGetValue(plugin, out var bulkhead))
        {
            RateLimitLease? pluginLease;
            try
            {
                pluginLease = await bulkhead.EnterAsync(_options.QueueTimeout, _timeProvider, cancellationToken);
            }
            catch
            {
                callerLease?.Dispose();
                tokenFrom?.ReturnToken();
                throw;
            }

            if (pluginLease is null)
            {
                // The call does not run: the caller gets back what it took.
                callerLease?.Dispose();
                tokenFrom?.ReturnToken();
                return CallAdmission.Refused(new GatewayError(
                    GatewayErrorKind.TooManyRequests,
                    $"Too many calls: plugin '{plugin}' runs at most {bulkhead.Permits} calls at a time{Queued(bulkhead.QueueLimit)}. Retry after 1 s.")
                {
                    RetryAfter = TimeSpan.FromSeconds(1),
                });
            }

            return new CallAdmission(callerLease, pluginLease, null);
        }

        return new CallAdmission(callerLease, null, null);
    }

    /// <summary>The caller's part of the admission, and the budget its token came from (to give it back if the call does not run).</summary>
    private async ValueTask<(CallAdmission Admission, CallerBudget? TokenFrom)> AdmitCallerAsync((string Issuer, string Name) key, CallerLimitSettings settings, CancellationToken cancellationToken)
    {
        var tokenTaken = !settings.LimitsRate;
        CallerBudget? tokenFrom = null;
        while (true)
        {
            var budget = _callers.GetOrAdd(key, static (_, state) => new CallerBudget(state.settings, state.limiter._timeProvider), (settings, limiter: this));
            if (!tokenTaken)
            {
                switch (budget.TryTake(out var wait))
                {
                    case TakeResult.Retired:
                        Thread.Yield();
                        continue;
                    case TakeResult.Empty:
                        var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
                        return (CallAdmission.Refused(new GatewayError(
                            GatewayErrorKind.TooManyRequests,
                            $"Rate limit reached: this caller may make {settings.RequestsPerSecond!.Value.ToString(CultureInfo.InvariantCulture)} tool calls per second " +
                            $"(bursts of {settings.EffectiveBurst}). Retry after {seconds} s.")
                        {
                            RetryAfter = TimeSpan.FromSeconds(seconds),
                        }), null);
                }

                tokenTaken = true;
                tokenFrom = budget;
            }

            if (budget.Bulkhead is not { } bulkhead)
            {
                return (new CallAdmission(null, null, null), tokenFrom);
            }

            RateLimitLease? lease;
            try
            {
                lease = await bulkhead.EnterAsync(_options.QueueTimeout, _timeProvider, cancellationToken);
            }
            catch
            {
                tokenFrom?.ReturnToken();
                throw;
            }

            if (lease is null)
            {
                // A refused call does not run, so it does not spend the caller's rate either.
                tokenFrom?.ReturnToken();
                return (CallAdmission.Refused(new GatewayError(
                    GatewayErrorKind.TooManyRequests,
                    $"Too many calls at once: this caller may run {bulkhead.Permits} tool calls at a time{Queued(bulkhead.QueueLimit)}. Retry after 1 s.")
                {
                    RetryAfter = TimeSpan.FromSeconds(1),
                }), null);
            }

            // The sweep marks a budget retired before it looks at the bulkhead one last time; a slot taken in between
            // belongs to a budget about to be forgotten, so it is given back and taken from the budget that replaces it.
            Interlocked.MemoryBarrier();
            if (!budget.IsRetired)
            {
                return (new CallAdmission(lease, null, null), tokenFrom);
            }

            lease.Dispose();
        }
    }

    /// <summary>Forgets the budgets of callers that are idle: their bucket is full and nothing runs or waits.</summary>
    internal void Sweep()
    {
        // A sweep already running when the server stops would read limiters being disposed.
        if (Volatile.Read(ref _disposed))
        {
            return;
        }

        try
        {
            SweepIdle();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private void SweepIdle()
    {
        foreach (var (key, budget) in _callers)
        {
            if (!budget.TryRetire())
            {
                continue;
            }

            Interlocked.MemoryBarrier();
            if (budget.Bulkhead is { IsIdle: false })
            {
                budget.Reinstate();
                continue;
            }

            // Not disposed: a call that raced the sweep may still give a slot back to it (the limiter holds no
            // unmanaged resources; the collector takes it).
            _callers.TryRemove(KeyValuePair.Create(key, budget));
        }
    }

    /// <summary>
    /// The budget's key: the name <see cref="CallLimitOptions.Callers"/> may list it under, and for subjects their
    /// issuer too (subjects are unique per issuer only: two issuers' "alice" are two callers).
    /// </summary>
    private (string Issuer, string Name) PartitionOf(ClaimsPrincipal? caller) => _options.PartitionBy switch
    {
        CallerPartition.Client => (string.Empty, caller?.FindFirst(SwitchboardClaims.ClientId)?.Value ?? string.Empty),
        CallerPartition.Tenant => (string.Empty, caller?.FindFirst(SwitchboardClaims.Tenant)?.Value ?? string.Empty),
        _ => (caller?.FindFirst(SwitchboardClaims.Issuer)?.Value ?? string.Empty, caller?.FindFirst(SwitchboardClaims.Subject)?.Value ?? string.Empty),
    };

    private static bool Limits(CallerLimitSettings settings) => settings.LimitsRate || settings.LimitsConcurrency;

    private string Queued(int queueLimit) => queueLimit > 0
        ? $" (with up to {queueLimit} more waiting, each at most {_options.QueueTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s)"
        : string.Empty;

    public void Dispose()
    {
        Volatile.Write(ref _disposed, true);
        _sweep?.Dispose();
        foreach (var bulkhead in _plugins.Values)
        {
            bulkhead.Dispose();
        }

        foreach (var budget in _callers.Values)
        {
            budget.Dispose();
        }
    }

    private enum TakeResult
    {
        Taken,
        Empty,
        Retired,
    }

    /// <summary>One caller's rate bucket and bulkhead.</summary>
    private sealed class CallerBudget(CallerLimitSettings settings, TimeProvider timeProvider) : IDisposable
    {
        private readonly Lock _gate = new();
        private readonly TokenBucket? _bucket = settings.LimitsRate ? new TokenBucket(settings.RequestsPerSecond!.Value, settings.EffectiveBurst, timeProvider) : null;
        private volatile bool _retired;

        public Bulkhead? Bulkhead { get; } = settings.LimitsConcurrency ? new Bulkhead(settings.MaxConcurrentCalls!.Value, settings.MaxQueuedCalls ?? 0) : null;

        public bool IsRetired => _retired;

        public TakeResult TryTake(out TimeSpan wait)
        {
            lock (_gate)
            {
                wait = TimeSpan.Zero;
                if (_retired)
                {
                    return TakeResult.Retired;
                }

                return _bucket is null || _bucket.TryTake(out wait) ? TakeResult.Taken : TakeResult.Empty;
            }
        }

        /// <summary>Marks the budget retired when its bucket is full; a call that took a token since keeps it alive.</summary>
        public bool TryRetire()
        {
            lock (_gate)
            {
                if (_bucket is { IsFull: false } || Bulkhead is { IsIdle: false })
                {
                    return false;
                }

                _retired = true;
                return true;
            }
        }

        /// <summary>Gives back a token taken for a call that was then refused or cancelled.</summary>
        public void ReturnToken()
        {
            lock (_gate)
            {
                _bucket?.Return();
            }
        }

        public void Reinstate()
        {
            lock (_gate)
            {
                _retired = false;
            }
        }

        public void Dispose() => Bulkhead?.Dispose();
    }
}

/// <summary>The slots an admitted call holds until it ends, or why it was refused.</summary>
internal readonly record struct CallAdmission(RateLimitLease? CallerLease, RateLimitLease? PluginLease, GatewayError? Refusal) : IDisposable
{
    public static CallAdmission Refused(GatewayError refusal) => new(null, null, refusal);

    public void Dispose()
    {
        CallerLease?.Dispose();
        PluginLease?.Dispose();
    }
}
