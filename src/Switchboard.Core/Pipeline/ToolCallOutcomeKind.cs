namespace Switchboard.Pipeline;

/// <summary>How a tool call ended; used for metrics, logs and (later) the audit record.</summary>
public enum ToolCallOutcomeKind
{
    /// <summary>Not decided yet.</summary>
    Pending,

    /// <summary>The tool ran and returned a normal result.</summary>
    Success,

    /// <summary>The tool ran and returned a result with <c>isError: true</c>, or threw.</summary>
    ToolError,

    /// <summary>The arguments did not match the tool's input schema; the tool did not run.</summary>
    InvalidArguments,

    /// <summary>The tool overran its timeout and was cancelled.</summary>
    Timeout,

    /// <summary>The caller cancelled the request.</summary>
    Cancelled,

    /// <summary>The request failed at protocol level (unknown tool and similar); the tool did not run.</summary>
    ProtocolError,

    /// <summary>The tool asked the client for more input (MCP 2026-07-28 input_required).</summary>
    InputRequired,

    /// <summary>Authorization refused the call (missing scope or a failed argument rule); the tool did not run.</summary>
    Denied,
}

internal static class ToolCallOutcomeKindNames
{
    public static string ToTagValue(this ToolCallOutcomeKind kind) => kind switch
    {
        ToolCallOutcomeKind.Success => "success",
        ToolCallOutcomeKind.ToolError => "tool_error",
        ToolCallOutcomeKind.InvalidArguments => "invalid_arguments",
        ToolCallOutcomeKind.Timeout => "timeout",
        ToolCallOutcomeKind.Cancelled => "cancelled",
        ToolCallOutcomeKind.ProtocolError => "protocol_error",
        ToolCallOutcomeKind.InputRequired => "input_required",
        ToolCallOutcomeKind.Denied => "denied",
        _ => "pending",
    };
}
