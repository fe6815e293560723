namespace Switchboard.Bench.Load;

/// <summary>What the load generator speaks to a server. Every transport calls the same echo tool.</summary>
public enum BenchTransport
{
    /// <summary>REST: <c>POST /v1/tools/{tool}/call</c> with the arguments as the body.</summary>
    Rest,

    /// <summary>Streamable HTTP, 2026-07-28: stateless, <c>_meta</c> and the <c>Mcp-Method</c>/<c>Mcp-Name</c> headers.</summary>
    McpModern,

    /// <summary>Streamable HTTP, 2025-11-25: <c>initialize</c> once per connection, then calls with <c>Mcp-Session-Id</c>.</summary>
    McpLegacy,

    /// <summary>WebSocket at <c>/ws</c>, 2026-07-28 requests carrying <c>_meta</c>.</summary>
    WsModern,

    /// <summary>WebSocket at <c>/ws</c>, 2025-11-25: <c>initialize</c> once per connection.</summary>
    WsLegacy,

    /// <summary>Raw HTTP: <c>POST /echo</c>, the answer must be the request body (the raw Kestrel ceiling).</summary>
    RawHttp,

    /// <summary>Raw WebSocket: every message must come back unchanged (the raw Kestrel ceiling).</summary>
    RawWs,
}

internal static class BenchTransportNames
{
    public static string ToName(this BenchTransport transport) => transport switch
    {
        BenchTransport.Rest => "rest",
        BenchTransport.McpModern => "mcp-modern",
        BenchTransport.McpLegacy => "mcp-legacy",
        BenchTransport.WsModern => "ws-modern",
        BenchTransport.WsLegacy => "ws-legacy",
        BenchTransport.RawHttp => "raw-http",
        BenchTransport.RawWs => "raw-ws",
        _ => throw new ArgumentOutOfRangeException(nameof(transport)),
    };

    /// <summary>A human description for reports: the transport and protocol era.</summary>
    public static string Describe(this BenchTransport transport) => transport switch
    {
        BenchTransport.Rest => "REST /v1",
        BenchTransport.McpModern => "Streamable HTTP 2026-07-28",
        BenchTransport.McpLegacy => "Streamable HTTP 2025-11-25",
        BenchTransport.WsModern => "WebSocket 2026-07-28",
        BenchTransport.WsLegacy => "WebSocket 2025-11-25",
        BenchTransport.RawHttp => "raw HTTP echo",
        BenchTransport.RawWs => "raw WebSocket echo",
        _ => throw new ArgumentOutOfRangeException(nameof(transport)),
    };

    public static bool IsWebSocket(this BenchTransport transport) => transport is BenchTransport.WsModern or BenchTransport.WsLegacy or BenchTransport.RawWs;

    public static bool TryParse(string? text, out BenchTransport transport)
    {
        foreach (var candidate in Enum.GetValues<BenchTransport>())
        {
            if (string.Equals(candidate.ToName(), text, StringComparison.OrdinalIgnoreCase))
            {
                transport = candidate;
                return true;
            }
        }

        transport = default;
        return false;
    }

    public static BenchTransport Parse(string text)
        => TryParse(text, out var transport)
            ? transport
            : throw new ArgumentException($"Unknown transport '{text}'. Use one of: {string.Join(", ", Enum.GetValues<BenchTransport>().Select(t => t.ToName()))}.", nameof(text));
}
