namespace Switchboard.Hosting;

/// <summary>
/// Root options, bound from the <c>Switchboard</c> configuration section (JSON file given with <c>--config</c>,
/// environment variables such as <c>Switchboard__Http__MaxRequestBodyBytes</c>, then command-line flags).
/// </summary>
public sealed class SwitchboardOptions
{
    public const string SectionName = "Switchboard";

    /// <summary>Addresses to listen on, separated by <c>;</c>. Overridden by <c>--urls</c>.</summary>
    public string Urls { get; set; } = "http://127.0.0.1:8080";

    /// <summary>Folder for the SQLite database and other state. Created on first run.</summary>
    public string DataDirectory { get; set; } = "./data";

    /// <summary>The name Switchboard reports as its MCP serverInfo and suggests for <c>claude mcp add</c>.</summary>
    public string ServerName { get; set; } = "switchboard";

    public HttpOptions Http { get; set; } = new();

    public ToolOptions Tools { get; set; } = new();

    /// <summary>Per-plugin settings keyed by plugin name.</summary>
    public Dictionary<string, PluginSettings> Plugins { get; set; } = new(StringComparer.Ordinal);

    public TelemetryOptions Telemetry { get; set; } = new();

    /// <summary>
    /// One aggressive garbage collection whenever the process goes quiet (allocates almost nothing for
    /// <see cref="IdleCompactionQuietPeriod"/>) after allocating enough since the last one — after start-up, and after
    /// each burst of calls — so that memory the work used does not stay resident in an idle server. The
    /// <c>switchboard</c> executable turns it on; a host that embeds Switchboard in its own process leaves it off, as it
    /// would collect that host's whole heap.
    /// </summary>
    public bool CompactHeapWhenIdle { get; set; }

    /// <summary>How long the process must allocate (almost) nothing before <see cref="CompactHeapWhenIdle"/> collects.</summary>
    public TimeSpan IdleCompactionQuietPeriod { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>HTTP listener and MCP endpoint settings.</summary>
public sealed class HttpOptions
{
    /// <summary>Largest accepted request body on the MCP endpoint, in bytes.</summary>
    public long MaxRequestBodyBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>
    /// Extra values accepted in the <c>Host</c> header, beside those derived from the bind addresses (for example the
    /// public host name behind a load balancer). <c>*</c> accepts any host.
    /// </summary>
    public List<string> AllowedHosts { get; set; } = [];

    /// <summary>
    /// Extra browser origins (<c>scheme://host[:port]</c>) allowed to call the MCP endpoint, beside the server's own
    /// origins. A request that carries an <c>Origin</c> header not in the list is refused with 403.
    /// </summary>
    public List<string> AllowedOrigins { get; set; } = [];

    /// <summary>How long a graceful shutdown waits for in-flight requests.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(15);
}

/// <summary>Settings that apply to every tool.</summary>
public sealed class ToolOptions
{
    /// <summary>Timeout for a tool call when neither the plugin nor the tool sets one.</summary>
    public TimeSpan DefaultTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Longest exposed tool name. Claude accepts 64 characters including its <c>mcp__&lt;server&gt;__</c> prefix;
    /// 46 leaves room for <c>mcp__switchboard__</c>.
    /// </summary>
    public int MaxNameLength { get; set; } = 46;

    /// <summary>How many tools one <c>tools/list</c> page holds.</summary>
    public int ListPageSize { get; set; } = 100;

    /// <summary>
    /// How many of a plugin's calls may still be running after their caller got its answer (a timeout or a
    /// cancellation the tool did not observe) before the plugin's tools refuse new calls. Such work cannot be stopped
    /// from outside, only bounded; the refusal lifts as the overrunning calls end. A plugin can set its own.
    /// </summary>
    public int MaxOverrunningCallsPerPlugin { get; set; } = DefaultMaxOverrunningCallsPerPlugin;

    /// <summary>The default of <see cref="MaxOverrunningCallsPerPlugin"/>.</summary>
    public const int DefaultMaxOverrunningCallsPerPlugin = 16;
}

/// <summary>Settings for one plugin.</summary>
public sealed class PluginSettings
{
    /// <summary>Set to false to leave the plugin out of the catalog.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Timeout for this plugin's tools, unless a tool sets its own.</summary>
    public TimeSpan? Timeout { get; set; }

    /// <summary>This plugin's bound on overrunning calls; see <see cref="ToolOptions.MaxOverrunningCallsPerPlugin"/>.</summary>
    public int? MaxOverrunningCalls { get; set; }

    /// <summary>
    /// Overrides which thread the plugin's calls start on: <c>ThreadPool</c> (the timeout holds even if a tool blocks)
    /// or <c>Inline</c> (saves a thread hop; only for tools that never block). Empty keeps the plugin's own choice.
    /// </summary>
    public Plugins.ToolExecution? Execution { get; set; }

    /// <summary>
    /// A bulkhead for the plugin: calls of its tools running at once, whoever the callers (protects a slow backend);
    /// unset: no bound. A slot is held until the caller is answered; calls that run on past a timeout are bounded by
    /// <see cref="MaxOverrunningCalls"/> instead. See <c>Switchboard:Limits</c> for per-caller limits.
    /// </summary>
    public int? MaxConcurrentCalls { get; set; }

    /// <summary>Calls that may wait for a slot of <see cref="MaxConcurrentCalls"/>, each at most <c>Switchboard:Limits:QueueTimeout</c>; unset: none wait.</summary>
    public int? MaxQueuedCalls { get; set; }

    /// <summary>Per-tool settings keyed by the tool's own (un-namespaced) name.</summary>
    public Dictionary<string, ToolSettings> Tools { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// When not empty, only callers of these tenants (the token's tenant claim) see and may call this plugin's tools;
    /// to everyone else they do not exist.
    /// </summary>
    public List<string> Tenants { get; set; } = [];
}

/// <summary>Settings for one tool of a plugin.</summary>
public sealed class ToolSettings
{
    /// <summary>An exposed name that replaces the namespaced one (must still be unique and valid).</summary>
    public string? Alias { get; set; }

    /// <summary>Timeout for this tool.</summary>
    public TimeSpan? Timeout { get; set; }
}

/// <summary>Telemetry export settings. Metrics are always served at <c>/metrics</c>.</summary>
public sealed class TelemetryOptions
{
    /// <summary>OTLP endpoint to export traces and metrics to (for example <c>http://localhost:4317</c>). Off when empty.</summary>
    public string? OtlpEndpoint { get; set; }
}
