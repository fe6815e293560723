using ModelContextProtocol;

namespace Switchboard.Pipeline;

/// <summary>What kind of protocol-level failure a request ended in; transports map it to their own error form.</summary>
public enum GatewayErrorKind
{
    /// <summary>The request named something that does not exist (unknown tool). JSON-RPC -32602, REST 404.</summary>
    NotFound,

    /// <summary>The request was malformed (bad cursor, bad parameters). JSON-RPC -32602, REST 400.</summary>
    InvalidRequest,

    /// <summary>The caller is not authenticated (only where the transport did not already refuse). JSON-RPC -32001, REST 401.</summary>
    Unauthenticated,

    /// <summary>The caller lacks the scope this call needs. JSON-RPC -32003, REST 403.</summary>
    Forbidden,

    /// <summary>The gateway is not able to serve the request right now. JSON-RPC -32603, REST 503.</summary>
    Unavailable,

    /// <summary>An unexpected failure inside the gateway. JSON-RPC -32603, REST 500.</summary>
    Internal,

    /// <summary>The caller or the plugin is over a rate limit or bulkhead; retry later. JSON-RPC -32029, REST 429.</summary>
    TooManyRequests,
}

/// <summary>
/// A protocol-level failure carried as a value through the pipeline. Its message reaches the caller, so it must never
/// contain secrets, stack traces or raw argument values.
/// </summary>
public sealed record GatewayError(GatewayErrorKind Kind, string Message)
{
    /// <summary>For <see cref="GatewayErrorKind.Forbidden"/>: the scope that would allow the call.</summary>
    public string? RequiredScope { get; init; }

    /// <summary>The JSON-RPC code of <see cref="GatewayErrorKind.TooManyRequests"/>: in the server-defined range, 429 in its digits.</summary>
    public const int TooManyRequestsCode = -32029;

    /// <summary>For <see cref="GatewayErrorKind.TooManyRequests"/>: when a retry may succeed (whole seconds).</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>The JSON-RPC error code the MCP transports use for this error.</summary>
    public McpErrorCode JsonRpcCode => Kind switch
    {
        GatewayErrorKind.NotFound => McpErrorCode.InvalidParams,
        GatewayErrorKind.InvalidRequest => McpErrorCode.InvalidParams,
        GatewayErrorKind.Unauthenticated => (McpErrorCode)(-32001),
        GatewayErrorKind.Forbidden => (McpErrorCode)(-32003),
        GatewayErrorKind.TooManyRequests => (McpErrorCode)TooManyRequestsCode,
        _ => McpErrorCode.InternalError,
    };

    /// <summary>The HTTP status the REST transport uses for this error.</summary>
    public int HttpStatus => Kind switch
    {
        GatewayErrorKind.NotFound => 404,
        GatewayErrorKind.InvalidRequest => 400,
        GatewayErrorKind.Unauthenticated => 401,
        GatewayErrorKind.Forbidden => 403,
        GatewayErrorKind.Unavailable => 503,
        GatewayErrorKind.TooManyRequests => 429,
        _ => 500,
    };

    public static GatewayError UnknownTool(string name) => new(GatewayErrorKind.NotFound, $"Unknown tool: '{Printable(name)}'");

    public static GatewayError Unauthenticated() => new(GatewayErrorKind.Unauthenticated, "Unauthorized: this request needs an authenticated caller.");

    public static GatewayError Forbidden(string requiredScope) => new(GatewayErrorKind.Forbidden, $"Forbidden: this call needs the scope '{requiredScope}'.")
    {
        RequiredScope = requiredScope,
    };

    /// <summary>The audit log could not record the call's intent, so the call was not run (fail closed).</summary>
    public static GatewayError AuditUnavailable() => new(GatewayErrorKind.Unavailable, "The audit log is unavailable, so the call was not run. Try again later.");

    public static GatewayError InvalidCursor() => new(GatewayErrorKind.InvalidRequest, "Invalid cursor: pass back a nextCursor value exactly as returned by tools/list.");

    /// <summary>Echoes caller input safely: bounded length, no control characters.</summary>
    internal static string Printable(string value)
    {
        var text = value.Length <= 128 ? value : value[..128] + "...";
        return string.Create(text.Length, text, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                span[i] = char.IsControl(source[i]) ? '?' : source[i];
            }
        });
    }

    /// <summary>Turns the error into the exception the MCP SDK maps to a JSON-RPC error response.</summary>
    public McpProtocolException ToProtocolException()
    {
        var exception = new McpProtocolException(Message, JsonRpcCode);
        if (RetryAfter is { } retryAfter)
        {
            // The SDK copies string-keyed Data entries into the error's data object; a JsonElement needs no reflection.
            using var number = System.Text.Json.JsonDocument.Parse(((long)retryAfter.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture));
            exception.Data["retryAfterSeconds"] = number.RootElement.Clone();
        }

        return exception;
    }
}
