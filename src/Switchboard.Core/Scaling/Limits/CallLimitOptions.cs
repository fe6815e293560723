namespace Switchboard.Scaling.Limits;

/// <summary>
/// Per-caller rate limits and bulkheads, bound from <c>Switchboard:Limits</c>. Everything is off by default: a server
/// that sets nothing pays nothing (the stage takes its fast path). Per-plugin bulkheads are plugin settings
/// (<c>Switchboard:Plugins:&lt;plugin&gt;:MaxConcurrentCalls</c>).
/// </summary>
public sealed class CallLimitOptions
{
    public const string SectionName = "Switchboard:Limits";

    /// <summary>Which callers share one budget: the token's subject (default), its client, or its tenant.</summary>
    public CallerPartition PartitionBy { get; set; } = CallerPartition.Subject;

    /// <summary>The limits of every caller (every partition), unless <see cref="Callers"/> names it.</summary>
    public CallerLimitSettings PerCaller { get; set; } = new();

    /// <summary>
    /// Limits for named partitions (a subject, client id or tenant, as <see cref="PartitionBy"/> says), over
    /// <see cref="PerCaller"/>: a value left out is inherited from it.
    /// </summary>
    public Dictionary<string, CallerLimitSettings> Callers { get; set; } = new(StringComparer.Ordinal);

    /// <summary>How long a queued call waits for a free slot (of its caller or its plugin) before it is refused.</summary>
    public TimeSpan QueueTimeout { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>Which callers share one budget of <see cref="CallLimitOptions"/>.</summary>
public enum CallerPartition
{
    /// <summary>The token's issuer and subject: every user or service account has its own budget.</summary>
    Subject,

    /// <summary>The token's <c>client_id</c>: every OAuth client shares one budget among its users.</summary>
    Client,

    /// <summary>The token's <c>tenant</c> claim: a tenant's callers share one budget; callers without one share another.</summary>
    Tenant,
}

/// <summary>The limits of one caller (partition). Zero turns a limit off.</summary>
public sealed class CallerLimitSettings
{
    /// <summary>Sustained tool calls per second (a token bucket refilled at this rate); zero or unset: no rate limit.</summary>
    public double? RequestsPerSecond { get; set; }

    /// <summary>How many calls may come at once after a quiet spell (the bucket's size); unset: the rate rounded up, at least 1.</summary>
    public int? Burst { get; set; }

    /// <summary>Calls of this caller running at once (a bulkhead); zero or unset: no bound.</summary>
    public int? MaxConcurrentCalls { get; set; }

    /// <summary>Calls that may wait for a free slot when <see cref="MaxConcurrentCalls"/> are running; unset: none wait.</summary>
    public int? MaxQueuedCalls { get; set; }

    /// <summary>This entry's values over <paramref name="defaults"/>'s.</summary>
    internal CallerLimitSettings Over(CallerLimitSettings defaults) => new()
    {
        RequestsPerSecond = RequestsPerSecond ?? defaults.RequestsPerSecond,
        Burst = Burst ?? defaults.Burst,
        MaxConcurrentCalls = MaxConcurrentCalls ?? defaults.MaxConcurrentCalls,
        MaxQueuedCalls = MaxQueuedCalls ?? defaults.MaxQueuedCalls,
    };

    internal bool LimitsRate => RequestsPerSecond > 0;

    internal bool LimitsConcurrency => MaxConcurrentCalls > 0;

    internal int EffectiveBurst => Burst is > 0 ? Burst.Value : Math.Max(1, (int)Math.Ceiling(RequestsPerSecond ?? 1));
}
