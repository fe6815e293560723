using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Switchboard.Plugins;

/// <summary>
/// Runs a tool written as a C# method with the MCP SDK's tool attributes. The tool runs inside the caller's MCP request
/// context (with its own, un-namespaced name), so progress, logging and client requests reach the caller directly.
/// </summary>
internal sealed class InProcessToolInvoker(McpServerTool tool) : IToolInvoker
{
    public McpServerTool Tool { get; } = tool ?? throw new ArgumentNullException(nameof(tool));

    public ValueTask<CallToolResult> InvokeAsync(ToolInvocation invocation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        var original = invocation.McpRequest
            ?? throw new InvalidOperationException("In-process tools need an MCP request context; the transport must supply one.");

        var parameters = new CallToolRequestParams
        {
            Name = Tool.ProtocolTool.Name,
            Arguments = invocation.Arguments,
            Meta = original.Params?.Meta ?? invocation.Meta,
            InputResponses = original.Params?.InputResponses,
            RequestState = original.Params?.RequestState,
        };

        var request = new RequestContext<CallToolRequestParams>(original.Server, original.JsonRpcRequest, parameters)
        {
            Services = invocation.Services ?? original.Services,
            MatchedPrimitive = Tool,
        };

        return Tool.InvokeAsync(request, cancellationToken);
    }
}
