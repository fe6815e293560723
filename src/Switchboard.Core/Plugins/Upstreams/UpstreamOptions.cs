namespace Switchboard.Plugins.Upstreams;

/// <summary>
/// The upstream MCP servers, bound from the <c>Switchboard</c> section so that <c>Switchboard:Upstreams:&lt;name&gt;</c>
/// keys land in <see cref="Upstreams"/>. Each upstream is served as the plugin of the same name.
/// </summary>
internal sealed class UpstreamsOptions
{
    /// <summary>Upstream servers keyed by plugin name.</summary>
    public Dictionary<string, UpstreamServerOptions> Upstreams { get; set; } = new(StringComparer.Ordinal);

    // A field, so the configuration binder leaves it alone: the binder's own message when a value cannot be converted.
    internal string? BindingError;
}

/// <summary>How the gateway reaches an upstream MCP server.</summary>
internal enum UpstreamTransport
{
    /// <summary>A child process speaking MCP on standard input and output.</summary>
    Stdio,

    /// <summary>A Streamable HTTP endpoint.</summary>
    Http,
}

/// <summary>When the gateway starts an upstream.</summary>
internal enum UpstreamStartMode
{
    /// <summary>On its first call (tools come from the cached list, or a one-off discovery run at start).</summary>
    Lazy,

    /// <summary>When the gateway starts.</summary>
    Eager,
}

/// <summary>One upstream MCP server (<c>Switchboard:Upstreams:&lt;name&gt;</c>).</summary>
internal sealed class UpstreamServerOptions
{
    /// <summary>The plugin version the upstream is served as (required).</summary>
    public string? Version { get; set; }

    /// <summary><c>Stdio</c> or <c>Http</c>; inferred from <see cref="Command"/> or <see cref="Url"/> when not set.</summary>
    public UpstreamTransport? Transport { get; set; }

    /// <summary>The program to run (stdio). A path with a directory is resolved against the gateway's current directory; a bare name is looked up on PATH.</summary>
    public string? Command { get; set; }

    /// <summary>Arguments of <see cref="Command"/>.</summary>
    public List<string> Arguments { get; set; } = [];

    /// <summary>Environment variables of the child process; values may hold <c>{env:NAME}</c> and <c>{file:/path}</c> references.</summary>
    public Dictionary<string, string> Environment { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// When false (the default) the child gets only PATH, HOME, LOGNAME, SHELL, TERM and USER from the gateway plus
    /// <see cref="Environment"/>, so secrets in the gateway's own environment do not leak into upstream processes.
    /// </summary>
    public bool InheritEnvironment { get; set; }

    /// <summary>Working directory of the child process (default: the gateway's current directory).</summary>
    public string? WorkingDirectory { get; set; }

    /// <summary>The Streamable HTTP endpoint (http or https).</summary>
    public string? Url { get; set; }

    /// <summary>Headers sent with every HTTP request to the upstream; values may hold secret references.</summary>
    public Dictionary<string, string> Headers { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Start on first use (<c>Lazy</c>, default) or with the gateway (<c>Eager</c>).</summary>
    public UpstreamStartMode Start { get; set; } = UpstreamStartMode.Lazy;

    /// <summary>Default timeout of the upstream's tools (per-tool settings under <c>Switchboard:Plugins</c> win).</summary>
    public TimeSpan? Timeout { get; set; }

    /// <summary>Calls in flight at once; more wait in a queue of <see cref="MaxQueuedCalls"/>.</summary>
    public int MaxConcurrency { get; set; } = 8;

    /// <summary>Calls that may wait for a free slot; beyond that, calls are refused at once.</summary>
    public int MaxQueuedCalls { get; set; } = 16;

    /// <summary>Stop the upstream after this long without calls (it starts again on the next call). Off when not set.</summary>
    public TimeSpan? IdleTimeout { get; set; }

    /// <summary>How long starting (process start, MCP handshake, first tools/list) may take.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a stdio upstream may take to exit after its input is closed before it is killed.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>MCP protocol version to request; by default the newest, falling back to what the server supports.</summary>
    public string? ProtocolVersion { get; set; }

    public UpstreamRestartOptions Restart { get; set; } = new();

    public UpstreamCircuitBreakerOptions CircuitBreaker { get; set; } = new();

    /// <summary>The conversation state keys and workflow of this upstream (docs/conversations.md); none by default.</summary>
    public Conversations.PluginConversationConfiguration? Conversation { get; set; }

    /// <summary>The effective transport (after inference); null when it cannot be told.</summary>
    public UpstreamTransport? EffectiveTransport => Transport
        ?? (Command is not null && Url is null ? UpstreamTransport.Stdio
        : Url is not null && Command is null ? UpstreamTransport.Http
        : null);
}

/// <summary>Exponential back-off between restarts of a crashed or failed upstream.</summary>
internal sealed class UpstreamRestartOptions
{
    /// <summary>Delay before the first restart; doubles with each consecutive failure.</summary>
    public TimeSpan InitialDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest delay between restarts.</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// The per-upstream circuit breaker (Polly). It counts transport failures, crashes mid-call and timeouts; a tool that
/// returns an <c>isError</c> result, or a JSON-RPC error, is a healthy upstream and does not count.
/// </summary>
internal sealed class UpstreamCircuitBreakerOptions
{
    /// <summary>Share of failed calls within <see cref="SamplingDuration"/> that opens the circuit.</summary>
    public double FailureRatio { get; set; } = 0.5;

    /// <summary>Calls needed within <see cref="SamplingDuration"/> before the ratio is judged (at least 2).</summary>
    public int MinimumThroughput { get; set; } = 4;

    /// <summary>Window over which failures are counted (at least 0.5 s).</summary>
    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long calls fail fast once the circuit opens (at least 0.5 s); then one trial call is let through.</summary>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(15);
}
