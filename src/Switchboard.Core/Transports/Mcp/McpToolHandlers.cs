using Microsoft.Extensions.Options;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Switchboard.Hosting;
using Switchboard.Pipeline;
using Switchboard.Plugins;

namespace Switchboard.Transports.Mcp;

/// <summary>
/// Connects the MCP SDK's <c>tools/list</c> and <c>tools/call</c> handlers to the gateway pipeline. Every MCP
/// transport (Streamable HTTP, stdio, WebSocket) runs an SDK server with these handlers.
/// </summary>
internal sealed class McpToolHandlers(
    GatewayPipeline pipeline,
    ToolCatalog catalog,
    IOptions<SwitchboardOptions> options,
    McpTransportResolver transports,
    TimeProvider timeProvider)
{
    public async ValueTask<ListToolsResult> ListToolsAsync(RequestContext<ListToolsRequestParams> request, CancellationToken cancellationToken)
    {
        var context = new ToolListContext(transports.Resolve(request.JsonRpcRequest), catalog.Current, timeProvider.GetTimestamp())
        {
            User = request.User,
            ProtocolVersion = ProtocolVersionOf(request.JsonRpcRequest, request.Server),
            McpRequest = request,
        };

        var outcome = await pipeline.ListToolsAsync(context, cancellationToken);
        if (outcome.IsError)
        {
            throw outcome.Error.ToProtocolException();
        }

        if (!ToolListPager.TryGetPage(outcome.Tools, request.Params?.Cursor, options.Value.Tools.ListPageSize, out var page, out var nextCursor))
        {
            throw GatewayError.InvalidCursor().ToProtocolException();
        }

        var tools = new List<Tool>(page.Count);
        foreach (var tool in page)
        {
            tools.Add(tool.ProtocolTool);
        }

        return new ListToolsResult { Tools = tools, NextCursor = nextCursor };
    }

    public async ValueTask<CallToolResult> CallToolAsync(RequestContext<CallToolRequestParams> request, CancellationToken cancellationToken)
    {
        var parameters = request.Params;
        if (parameters is null || string.IsNullOrEmpty(parameters.Name))
        {
            throw new McpProtocolException("tools/call requires params.name.", McpErrorCode.InvalidParams);
        }

        var context = new ToolCallContext(transports.Resolve(request.JsonRpcRequest), parameters.Name, catalog.Current, timeProvider.GetTimestamp())
        {
            Arguments = parameters.Arguments,
            Meta = parameters.Meta,
            ProgressToken = parameters.ProgressToken,
            User = request.User,
            ProtocolVersion = ProtocolVersionOf(request.JsonRpcRequest, request.Server),
            McpRequest = request,
        };

        var outcome = await pipeline.CallToolAsync(context, cancellationToken);
        if (outcome.IsError)
        {
            throw outcome.Error.ToProtocolException();
        }

        return outcome.Result;
    }

    private static string? ProtocolVersionOf(JsonRpcRequest request, McpServer server)
        => request.Context?.ProtocolVersion ?? server.NegotiatedProtocolVersion;
}

/// <summary>Marks an SDK transport implemented by Switchboard, so handlers know which transport a request came on.</summary>
internal interface IGatewayTransportIdentity
{
    GatewayTransport Transport { get; }
}

/// <summary>
/// Tells which transport an MCP request arrived on. Streamable HTTP requests carry the SDK's per-request transport;
/// Switchboard's own transports identify themselves; anything else is the process's default (stdio for
/// <c>switchboard stdio</c>).
/// </summary>
internal sealed class McpTransportResolver(GatewayTransport defaultTransport)
{
    public GatewayTransport Resolve(JsonRpcRequest request) => request.Context?.RelatedTransport switch
    {
        IGatewayTransportIdentity identity => identity.Transport,
        null => defaultTransport,
        _ => GatewayTransport.StreamableHttp,
    };
}
