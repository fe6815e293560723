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

    /// <summary>The conversation's workflow does not allow the tool in its current state (or it needs a conversation); the tool did not run.</summary>
    OutOfState,

    /// <summary>The tool ran but its state writes were not applied (a stale exclusive write, an owner or policy violation).</summary>
    StateConflict,

    /// <summary>A rate limit or bulkhead turned the call away; the tool did not run.</summary>
    RateLimited,
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
        ToolCallOutcomeKind.OutOfState => "out_of_state",
        ToolCallOutcomeKind.StateConflict => "state_conflict",
        ToolCallOutcomeKind.RateLimited => "rate_limited",
        _ => "pending",
    };
}
