using ModelContextProtocol.Protocol;

namespace Switchboard.Plugins;

/// <summary>One tool as the gateway serves it: its exposed name, where it comes from, and how to run it.</summary>
public sealed class CatalogTool
{
    internal CatalogTool(string name, LoadedPlugin plugin, string localName, Tool protocolTool, TimeSpan timeout, IToolInvoker invoker)
    {
        Name = name;
        Plugin = plugin;
        LocalName = localName;
        ProtocolTool = protocolTool;
        Timeout = timeout;
        Invoker = invoker;
    }

    /// <summary>The exposed (namespaced or aliased) name clients call.</summary>
    public string Name { get; }

    /// <summary>The plugin the tool belongs to.</summary>
    public LoadedPlugin Plugin { get; }

    /// <summary>The tool's own name inside its plugin.</summary>
    public string LocalName { get; }

    /// <summary>The tool definition as listed to clients (with <see cref="Name"/> as its name).</summary>
    public Tool ProtocolTool { get; }

    /// <summary>How long one call may run before it is cancelled.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>
    /// How many calls of this tool's plugin may still run after their callers got an answer before the plugin's tools
    /// refuse new calls (<c>Switchboard:Tools:MaxOverrunningCallsPerPlugin</c>, or the plugin's own setting).
    /// </summary>
    public int MaxOverrunningCalls { get; init; } = Hosting.ToolOptions.DefaultMaxOverrunningCallsPerPlugin;

    /// <summary>Which thread a call starts on (the plugin's choice, or <c>Switchboard:Plugins:&lt;plugin&gt;:Execution</c>).</summary>
    public ToolExecution Execution { get; init; } = ToolExecution.ThreadPool;

    internal IToolInvoker Invoker { get; }

    /// <summary>A human description of where the tool comes from, used in errors.</summary>
    public string Source => $"tool '{LocalName}' of plugin '{Plugin.Name}' {Plugin.Version} ({Plugin.Source})";

    public override string ToString() => Name;
}

/// <summary>A plugin after loading: its identity and the tools it offers, before naming rules are applied.</summary>
/// <param name="Name">The plugin name (lowercase letters, digits, hyphens).</param>
/// <param name="Version">The plugin version.</param>
/// <param name="Source">Where the plugin is defined, for error messages (type name, command, URL).</param>
/// <param name="ToolNamePrefix">The prefix of exposed names; <see langword="null"/> means the plugin name, empty means none.</param>
/// <param name="DefaultTimeout">The plugin's own default tool timeout, if it declares one.</param>
/// <param name="Tools">The tools, keyed by their own names.</param>
public sealed record LoadedPlugin(
    string Name,
    string Version,
    string Source,
    string? ToolNamePrefix,
    TimeSpan? DefaultTimeout,
    IReadOnlyList<PluginTool> Tools)
{
    /// <summary>
    /// True when the plugin's tool list can change at run time (an upstream MCP server). Settings under
    /// <c>Switchboard:Plugins:&lt;plugin&gt;:Tools</c> may then name a tool the plugin does not list right now without
    /// stopping the catalog load; the plugin source reports such settings itself.
    /// </summary>
    public bool HasDynamicTools { get; init; }

    /// <summary>Which thread the plugin's calls start on, unless configuration says otherwise.</summary>
    public ToolExecution Execution { get; init; } = ToolExecution.ThreadPool;
}

/// <summary>One tool offered by a plugin: its definition (with the plugin's own name) and its invoker.</summary>
public sealed record PluginTool(Tool ProtocolTool, IToolInvoker Invoker);
