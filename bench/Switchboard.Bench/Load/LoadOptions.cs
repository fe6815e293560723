namespace Switchboard.Bench.Load;

/// <summary>One load run: which server, which transport, how many connections for how long.</summary>
internal sealed record LoadOptions
{
    /// <summary>The server's base address, for example <c>http://127.0.0.1:8080</c> (loopback in this repository's runs).</summary>
    public required Uri BaseUri { get; init; }

    public required BenchTransport Transport { get; init; }

    public CallTarget Target { get; init; } = CallTarget.TextEcho;

    /// <summary>Open connections. HTTP: each runs one request at a time. WebSocket: see <see cref="InFlight"/>.</summary>
    public int Connections { get; init; } = 50;

    /// <summary>Requests in flight per WebSocket connection (ignored for HTTP).</summary>
    public int InFlight { get; init; } = 1;

    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>A call with no answer after this long counts as a timeout.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Headers sent with every HTTP request and WebSocket upgrade (for example <c>Authorization</c>).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];

    /// <summary>The server process to sample for CPU and memory, when it runs on this machine.</summary>
    public int? ServerPid { get; init; }

    public string McpPath { get; init; } = "/mcp";

    public string WebSocketPath { get; init; } = "/ws";
}
