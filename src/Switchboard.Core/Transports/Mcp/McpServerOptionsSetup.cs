using System.Reflection;
using Microsoft.Extensions.Options;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Switchboard.Hosting;

namespace Switchboard.Transports.Mcp;

/// <summary>
/// Configures the MCP SDK server that every MCP transport runs: identity, capabilities, the gateway's tool handlers and
/// the protocol-version filters. The result may be shared by many SDK servers at once (WebSocket connections and
/// Streamable HTTP sessions use the one <c>IOptions</c> instance) or built again for one, so it only assigns prepared,
/// stateless objects and nothing that belongs to a connection.
/// </summary>
internal sealed class McpServerOptionsSetup(
    McpToolHandlers handlers,
    McpSessionRegistry sessions,
    IOptions<SwitchboardOptions> options,
    IEnumerable<IMcpServerOptionsContributor> contributors) : IConfigureOptions<McpServerOptions>
{
    public static string ServerVersion { get; } =
        typeof(McpServerOptionsSetup).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    private readonly IMcpServerOptionsContributor[] _contributors = contributors.ToArray();

    public void Configure(McpServerOptions mcp)
    {
        mcp.ServerInfo = new Implementation { Name = options.Value.ServerName, Title = "Switchboard", Version = ServerVersion };
        mcp.ServerInstructions =
            "Switchboard is a gateway to tools from several plugins. Tool names start with the plugin name " +
            "(for example text_echo); call tools/list to see what is available.";
        mcp.Capabilities ??= new ServerCapabilities();
        mcp.Capabilities.Tools = new ToolsCapability { ListChanged = true };
        mcp.Handlers.ListToolsHandler = handlers.ListToolsAsync;
        mcp.Handlers.CallToolHandler = handlers.CallToolAsync;
        mcp.Handlers.SubscriptionsListenHandler = sessions.ListenAsync;
        mcp.Filters.Message.IncomingFilters.Add(ProtocolVersionFilters.MarkDiscover);
        mcp.Filters.Message.OutgoingFilters.Add(ProtocolVersionFilters.RewriteDiscover);
        foreach (var contributor in _contributors)
        {
            contributor.Configure(mcp);
        }
    }
}

/// <summary>Adds to the MCP server options (for example the conformance fixtures' resources and prompts).</summary>
internal interface IMcpServerOptionsContributor
{
    void Configure(McpServerOptions options);
}
