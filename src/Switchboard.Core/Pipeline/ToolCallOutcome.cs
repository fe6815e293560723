using System.Diagnostics.CodeAnalysis;
using ModelContextProtocol.Protocol;

namespace Switchboard.Pipeline;

/// <summary>
/// The result of a <c>tools/call</c> through the pipeline: either a tool result (which may itself be an
/// <c>isError</c> result) or a protocol-level <see cref="GatewayError"/>. Expected failures travel as values.
/// </summary>
public readonly struct ToolCallOutcome
{
    private ToolCallOutcome(CallToolResult? result, GatewayError? error)
    {
        Result = result;
        Error = error;
    }

    public CallToolResult? Result { get; }

    public GatewayError? Error { get; }

    [MemberNotNullWhen(true, nameof(Error))]
    [MemberNotNullWhen(false, nameof(Result))]
    public bool IsError => Error is not null;

    public static ToolCallOutcome FromResult(CallToolResult result) => new(result ?? throw new ArgumentNullException(nameof(result)), null);

    public static ToolCallOutcome FromError(GatewayError error) => new(null, error ?? throw new ArgumentNullException(nameof(error)));

    public static implicit operator ToolCallOutcome(CallToolResult result) => FromResult(result);

    public static implicit operator ToolCallOutcome(GatewayError error) => FromError(error);

    /// <summary>Builds an <c>isError</c> tool result with one text block; the text is shown to the model.</summary>
    public static CallToolResult ToolErrorResult(string message) => new()
    {
        IsError = true,
        Content = [new TextContentBlock { Text = message }],
    };
}

/// <summary>The result of a <c>tools/list</c> through the pipeline: the caller's visible tools, or an error.</summary>
public readonly struct ToolListOutcome
{
    private ToolListOutcome(IReadOnlyList<Plugins.CatalogTool>? tools, GatewayError? error)
    {
        Tools = tools;
        Error = error;
    }

    public IReadOnlyList<Plugins.CatalogTool>? Tools { get; }

    public GatewayError? Error { get; }

    [MemberNotNullWhen(true, nameof(Error))]
    [MemberNotNullWhen(false, nameof(Tools))]
    public bool IsError => Error is not null;

    public static ToolListOutcome FromTools(IReadOnlyList<Plugins.CatalogTool> tools) => new(tools ?? throw new ArgumentNullException(nameof(tools)), null);

    public static ToolListOutcome FromError(GatewayError error) => new(null, error ?? throw new ArgumentNullException(nameof(error)));
}
