using Switchboard.Hosting;

namespace Switchboard.Plugins.Upstreams;

public static class UpstreamPluginExtensions
{
    /// <summary>Adds the upstream MCP servers listed under <c>Switchboard:Upstreams</c> as plugins.</summary>
    public static ISwitchboardBuilder AddUpstreamPlugins(this ISwitchboardBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder;
    }
}
