namespace Switchboard.Pipeline;

/// <summary>The transport a request arrived on. Every transport feeds the same pipeline.</summary>
public enum GatewayTransport
{
    /// <summary>MCP Streamable HTTP at <c>/mcp</c>, both protocol eras.</summary>
    StreamableHttp,

    /// <summary>MCP over WebSocket at <c>/ws</c>.</summary>
    WebSocket,

    /// <summary>Plain JSON tool calls at <c>/v1</c>.</summary>
    Rest,

    /// <summary>MCP over standard input and output.</summary>
    Stdio,
}

internal static class GatewayTransportNames
{
    public static string ToTagValue(this GatewayTransport transport) => transport switch
    {
        GatewayTransport.StreamableHttp => "streamable_http",
        GatewayTransport.WebSocket => "websocket",
        GatewayTransport.Rest => "rest",
        GatewayTransport.Stdio => "stdio",
        _ => "unknown",
    };
}
