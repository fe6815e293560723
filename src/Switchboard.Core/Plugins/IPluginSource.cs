namespace Switchboard.Plugins;

/// <summary>Supplies plugins to the catalog: in-process plugins registered in code, upstream MCP servers, and so on.</summary>
public interface IPluginSource
{
    /// <summary>Loads this source's plugins. Called at start and whenever the source reports a change.</summary>
    ValueTask<IReadOnlyList<LoadedPlugin>> LoadAsync(CancellationToken cancellationToken);
}

/// <summary>The plugins registered in code with <see cref="PluginDescriptor"/>.</summary>
internal sealed class InProcessPluginSource(IEnumerable<PluginDescriptor> descriptors, IServiceProvider services, Transports.Mcp.DetachedMcpServer detached) : IPluginSource
{
    public ValueTask<IReadOnlyList<LoadedPlugin>> LoadAsync(CancellationToken cancellationToken)
    {
        var plugins = new List<LoadedPlugin>();
        foreach (var descriptor in descriptors)
        {
            var tools = descriptor.CreateTools(services)
                .Select(tool => new PluginTool(tool.ProtocolTool, new InProcessToolInvoker(tool, detached)))
                .ToList();
            plugins.Add(new LoadedPlugin(descriptor.Name, descriptor.Version, descriptor.Source, descriptor.ToolNamePrefix, descriptor.DefaultToolTimeout, tools)
            {
                Execution = descriptor.Execution,
            });
        }

        return ValueTask.FromResult<IReadOnlyList<LoadedPlugin>>(plugins);
    }
}
