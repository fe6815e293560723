using System.Security.Claims;
using System.Text.Json;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Switchboard.Plugins;

namespace Switchboard.Pipeline;

/// <summary>
/// Everything one <c>tools/call</c> carries through the pipeline. Stages read and write it; nothing about the request
/// is kept anywhere else.
/// </summary>
public sealed class ToolCallContext
{
    public ToolCallContext(GatewayTransport transport, string requestedName, CatalogSnapshot catalog, long startTimestamp)
    {
        ArgumentException.ThrowIfNullOrEmpty(requestedName);
        ArgumentNullException.ThrowIfNull(catalog);
        Transport = transport;
        RequestedName = requestedName;
        Catalog = catalog;
        StartTimestamp = startTimestamp;
    }

    /// <summary>The transport the call arrived on.</summary>
    public GatewayTransport Transport { get; }

    /// <summary>The tool name exactly as the caller sent it (the namespaced, exposed name).</summary>
    public string RequestedName { get; }

    /// <summary>The catalog as it was when the call started; the whole call sees this one snapshot.</summary>
    public CatalogSnapshot Catalog { get; }

    /// <summary>When the call entered the gateway, from <see cref="TimeProvider.GetTimestamp"/>.</summary>
    public long StartTimestamp { get; }

    /// <summary>The tool arguments. Stages may replace values (for example masking) before the plugin runs.</summary>
    public IDictionary<string, JsonElement>? Arguments { get; set; }

    /// <summary>The request's <c>_meta</c> object, if any.</summary>
    public System.Text.Json.Nodes.JsonObject? Meta { get; init; }

    /// <summary>The progress token the caller asked progress notifications for, if any.</summary>
    public ProgressToken? ProgressToken { get; init; }

    /// <summary>The protocol version the request was made with, when the transport knows it.</summary>
    public string? ProtocolVersion { get; init; }

    /// <summary>The authenticated caller, when there is one.</summary>
    public ClaimsPrincipal? User { get; init; }

    /// <summary>
    /// The MCP SDK's request when the call came over an MCP transport. In-process tools run inside it, so they can send
    /// progress and logging notifications and ask the client for input on the caller's own stream.
    /// </summary>
    public RequestContext<CallToolRequestParams>? McpRequest { get; init; }

    /// <summary>The catalog entry the requested name resolved to; set by the resolution stage.</summary>
    public CatalogTool? Tool { get; set; }

    /// <summary>
    /// The verified conversation the call belongs to, set by the conversation identity stage; null when the call has
    /// none (a stateless REST call without a handle, for example).
    /// </summary>
    public string? ConversationId { get; set; }

    /// <summary>How the call ended. Stages that decide the outcome set it; telemetry and audit read it.</summary>
    public ToolCallOutcomeKind OutcomeKind { get; set; }

    /// <summary>What the masking stages found and did, and the audit intent; set by the audit stage, filled by masking.</summary>
    public Compliance.ComplianceCallState? Compliance { get; set; }

    /// <summary>
    /// A conversation handle the transport received outside <c>_meta</c> (the REST header <c>Switchboard-Conversation</c>);
    /// the conversation identity stage verifies it.
    /// </summary>
    public string? ConversationHandle { get; init; }

    /// <summary>An operation id the transport received outside <c>_meta</c> (the REST header <c>Idempotency-Key</c>).</summary>
    public string? OperationId { get; init; }

    /// <summary>
    /// The services an in-process tool runs with, when a stage offers per-call services (the conversation state); by
    /// default those of the MCP request.
    /// </summary>
    public IServiceProvider? Services { get; set; }

    /// <summary>
    /// Gateway-owned <c>_meta</c> entries sent to the plugin with the call (upstream plugins receive them in the request's
    /// <c>_meta</c>); the caller's own <c>_meta</c> is never forwarded.
    /// </summary>
    public System.Text.Json.Nodes.JsonObject? PluginMeta { get; set; }
}

/// <summary>Everything one <c>tools/list</c> carries through the pipeline.</summary>
public sealed class ToolListContext
{
    public ToolListContext(GatewayTransport transport, CatalogSnapshot catalog, long startTimestamp)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        Transport = transport;
        Catalog = catalog;
        StartTimestamp = startTimestamp;
    }

    public GatewayTransport Transport { get; }

    public CatalogSnapshot Catalog { get; }

    public long StartTimestamp { get; }

    public string? ProtocolVersion { get; init; }

    public ClaimsPrincipal? User { get; init; }

    public RequestContext<ListToolsRequestParams>? McpRequest { get; init; }

    /// <summary>The verified conversation, when the list request belongs to one; see <see cref="ToolCallContext.ConversationId"/>.</summary>
    public string? ConversationId { get; set; }
}
