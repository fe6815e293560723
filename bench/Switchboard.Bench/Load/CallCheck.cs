namespace Switchboard.Bench.Load;

/// <summary>How one call ended, as the load generator judged the answer. Everything but <see cref="Ok"/> is an error.</summary>
public enum CallCheck
{
    /// <summary>The answer has the request's id and the echoed text, and is not an error.</summary>
    Ok,

    /// <summary>The HTTP status was not the expected one (200 for calls).</summary>
    HttpStatus,

    /// <summary>A JSON-RPC error response (or an RFC 9457 problem on REST).</summary>
    JsonRpcError,

    /// <summary>A tool result with <c>isError: true</c>.</summary>
    ToolError,

    /// <summary>An answer whose id is not the id of a request in flight.</summary>
    WrongId,

    /// <summary>A successful-looking answer that does not carry the echoed text.</summary>
    WrongContent,

    /// <summary>An answer that could not be read (not JSON, no JSON-RPC response in the stream, bad HTTP framing).</summary>
    Malformed,

    /// <summary>No answer within the per-request timeout.</summary>
    Timeout,

    /// <summary>The connection failed (refused, reset, closed by the server).</summary>
    Connection,
}

internal static class CallCheckNames
{
    public static string ToName(this CallCheck check) => check switch
    {
        CallCheck.Ok => "ok",
        CallCheck.HttpStatus => "http_status",
        CallCheck.JsonRpcError => "jsonrpc_error",
        CallCheck.ToolError => "tool_error",
        CallCheck.WrongId => "wrong_id",
        CallCheck.WrongContent => "wrong_content",
        CallCheck.Malformed => "malformed",
        CallCheck.Timeout => "timeout",
        CallCheck.Connection => "connection",
        _ => throw new ArgumentOutOfRangeException(nameof(check)),
    };
}
