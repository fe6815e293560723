using System.ComponentModel;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Switchboard.Transports.Mcp;

namespace Switchboard.Plugins.Conformance;

/// <summary>
/// Whether the fixture tool <c>test_dynamic_tool</c> is in the catalog. It starts present; each call of
/// <c>test_trigger_tool_change</c> removes or restores it, so the suite can watch a real catalog change travel to
/// clients as <c>notifications/tools/list_changed</c>.
/// </summary>
internal sealed class ConformanceDynamicToolState
{
    private int _present = 1;

    public bool IsPresent => Volatile.Read(ref _present) == 1;

    /// <summary>Flips the tool's presence; returns whether it is present afterwards.</summary>
    public bool Toggle()
    {
        while (true)
        {
            var current = Volatile.Read(ref _present);
            if (Interlocked.CompareExchange(ref _present, 1 - current, current) == current)
            {
                return current == 0;
            }
        }
    }
}

/// <summary>
/// A plugin source of its own for the dynamic tool, so that adding or removing it is an ordinary catalog reload that
/// goes through the same path as any plugin change.
/// </summary>
internal sealed class ConformanceDynamicToolSource(ConformanceDynamicToolState state, IServiceProvider services, DetachedMcpServer detached) : IPluginSource
{
    public const string PluginName = "conformance-dynamic";

    private readonly PluginDescriptor _descriptor = PluginDescriptor.FromType<ConformanceDynamicTool>(PluginName, "1.0.0", toolNamePrefix: string.Empty);

    public ValueTask<IReadOnlyList<LoadedPlugin>> LoadAsync(CancellationToken cancellationToken)
    {
        var tools = state.IsPresent
            ? _descriptor.CreateTools(services).Select(tool => new PluginTool(tool.ProtocolTool, new InProcessToolInvoker(tool, detached))).ToList()
            : [];
        IReadOnlyList<LoadedPlugin> plugins = [new LoadedPlugin(PluginName, "1.0.0", "conformance fixtures (dynamic tool)", string.Empty, null, tools)];
        return ValueTask.FromResult(plugins);
    }
}

[McpServerToolType]
internal sealed class ConformanceDynamicTool
{
    [McpServerTool(Name = "test_dynamic_tool", ReadOnly = true)]
    [Description("A tool that test_trigger_tool_change removes from and restores to the tool list")]
    public static CallToolResult DynamicTool() => ConformanceTools.Text("This tool was added to the tool list dynamically.");
}

/// <summary>The diagnostic hook the 2026-07-28 <c>server-stateless</c> scenario calls to change the tool list.</summary>
[McpServerToolType]
internal sealed class ConformanceListChangeTools(ConformanceDynamicToolState state, PluginCatalogLoader loader)
{
    [McpServerTool(Name = "test_trigger_tool_change")]
    [Description("Adds test_dynamic_tool to the tool list, or removes it if present; connected clients get notifications/tools/list_changed")]
    public async Task<CallToolResult> TriggerToolChange(CancellationToken cancellationToken)
    {
        var present = state.Toggle();
        await loader.ReloadAsync(cancellationToken);
        return ConformanceTools.Text(present ? "test_dynamic_tool added" : "test_dynamic_tool removed");
    }
}
