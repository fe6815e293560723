using Microsoft.Extensions.Options;
using Switchboard.Plugins;
using Switchboard.Plugins.Upstreams;

namespace Switchboard.Conversations;

/// <summary>
/// The conversation declarations of upstream plugins, from <c>Switchboard:Upstreams:&lt;name&gt;:Conversation</c>. A bad
/// declaration stops start-up with every problem listed, each naming its setting.
/// </summary>
internal sealed class UpstreamConversationProvider(IOptions<UpstreamsOptions> upstreams) : IPluginConversationProvider
{
    public IEnumerable<PluginConversation> Declarations
    {
        get
        {
            var problems = new List<string>();
            var declarations = new List<PluginConversation>();
            foreach (var (name, upstream) in upstreams.Value.Upstreams.OrderBy(u => u.Key, StringComparer.Ordinal))
            {
                if (upstream.Conversation?.ToDeclaration(name, $"Switchboard:Upstreams:{name}:Conversation", problems) is { } declaration)
                {
                    declarations.Add(declaration);
                }
            }

            return problems.Count > 0 ? throw new PluginConfigurationException(problems) : declarations;
        }
    }
}
