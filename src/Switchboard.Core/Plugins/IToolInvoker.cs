using System.Text.Json;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Switchboard.Plugins;

/// <summary>Runs one tool of a plugin. In-process tools and upstream MCP servers each have an implementation.</summary>
public interface IToolInvoker
{
    /// <summary>Invokes the tool. Expected tool failures come back as an <c>isError</c> result.</summary>
    ValueTask<CallToolResult> InvokeAsync(ToolInvocation invocation, CancellationToken cancellationToken);
}

/// <summary>What an invoker needs to run a tool: its own name, the arguments and the caller's MCP context.</summary>
public sealed class ToolInvocation
{
    public required CatalogTool Tool { get; init; }

    public IDictionary<string, JsonElement>? Arguments { get; init; }

    public System.Text.Json.Nodes.JsonObject? Meta { get; init; }

    /// <summary>Gateway-owned <c>_meta</c> entries for the plugin (the conversation state snapshot); see <c>ToolCallContext.PluginMeta</c>.</summary>
    public System.Text.Json.Nodes.JsonObject? PluginMeta { get; init; }

    public ProgressToken? ProgressToken { get; init; }

    /// <summary>The caller's MCP request, when the call came over an MCP transport.</summary>
    public RequestContext<CallToolRequestParams>? McpRequest { get; init; }

    /// <summary>The services of the current request.</summary>
    public IServiceProvider? Services { get; init; }

    /// <summary>
    /// The caller's own cancellation. The token an invoker receives is also cancelled by the tool's timeout; comparing
    /// the two tells an invoker whether its work was abandoned by the caller or cut off by the deadline (which counts
    /// as a failure of the plugin, for example for a circuit breaker).
    /// </summary>
    public CancellationToken CallerCancellationToken { get; init; }
}
