using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Switchboard.Transports.Mcp;

namespace Switchboard.Plugins;

/// <summary>
/// Runs a tool written as a C# method with the MCP SDK's tool attributes. Over MCP the tool runs inside the caller's
/// request context (with its own, un-namespaced name), so progress, logging and client requests reach the caller
/// directly; for callers that do not speak MCP it runs inside a <see cref="DetachedMcpServer"/>.
/// </summary>
internal sealed class InProcessToolInvoker(McpServerTool tool, DetachedMcpServer detached) : IToolInvoker
{
    public McpServerTool Tool { get; } = tool ?? throw new ArgumentNullException(nameof(tool));

    public ValueTask<CallToolResult> InvokeAsync(ToolInvocation invocation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        var original = invocation.McpRequest;
        var parameters = new CallToolRequestParams
        {
            Name = Tool.ProtocolTool.Name,
            Arguments = invocation.Arguments,
            Meta = original?.Params?.Meta ?? invocation.Meta,
            InputResponses = original?.Params?.InputResponses,
            RequestState = original?.Params?.RequestState,
        };

        var request = original is not null
            ? new RequestContext<CallToolRequestParams>(original.Server, original.JsonRpcRequest, parameters) { Services = invocation.Services ?? original.Services }
            : new RequestContext<CallToolRequestParams>(
                detached.Server,
                new JsonRpcRequest { Id = new RequestId(Guid.NewGuid().ToString("n")), Method = RequestMethods.ToolsCall },
                parameters)
            {
                Services = invocation.Services ?? detached.Server.Services,
            };

        request.MatchedPrimitive = Tool;
        return Tool.InvokeAsync(request, cancellationToken);
    }
}
