using Switchboard.Plugins;

namespace Switchboard.Conversations;

/// <summary>Supplies conversation declarations that are not registered in code (upstream plugins' configuration).</summary>
internal interface IPluginConversationProvider
{
    IEnumerable<PluginConversation> Declarations { get; }
}

/// <summary>
/// Every plugin's conversation declaration, checked together: a key shared by several plugins must be declared with the
/// same policy (and owner) by each, so the merge rule of a key never depends on who writes it. An inconsistent set stops
/// start-up with every problem listed.
/// </summary>
internal sealed class ConversationRegistry
{
    private readonly Dictionary<string, PluginConversation> _plugins = new(StringComparer.Ordinal);

    public ConversationRegistry(IEnumerable<PluginConversation> declared, IEnumerable<IPluginConversationProvider> providers)
    {
        var problems = new List<string>();
        var keys = new Dictionary<string, (StateKeyDeclaration Declaration, string Plugin)>(StringComparer.Ordinal);
        foreach (var plugin in declared.Concat(providers.SelectMany(p => p.Declarations)))
        {
            if (!_plugins.TryAdd(plugin.Plugin, plugin))
            {
                problems.Add($"Plugin '{plugin.Plugin}' declares its conversation keys or workflow twice.");
                continue;
            }

            foreach (var key in plugin.Keys.Values)
            {
                if (!PluginConversation.IsValidKey(key.Key))
                {
                    problems.Add($"Plugin '{plugin.Plugin}' declares the state key '{key.Key}': key names are 1-64 of a-z, 0-9, '_', '-', '.' starting with a letter or digit.");
                    continue;
                }

                if (key.Policy == StatePolicy.Owner && string.IsNullOrEmpty(key.Owner))
                {
                    problems.Add($"Plugin '{plugin.Plugin}' declares the owner key '{key.Key}' without naming its owner.");
                }

                if (keys.TryGetValue(key.Key, out var first) && (first.Declaration.Policy != key.Policy || first.Declaration.Owner != key.Owner))
                {
                    problems.Add(
                        $"State key '{key.Key}' is declared as {Describe(first.Declaration)} by plugin '{first.Plugin}' but as {Describe(key)} by plugin '{plugin.Plugin}'; " +
                        "every plugin sharing a key must declare the same policy.");
                }
                else
                {
                    keys.TryAdd(key.Key, (key, plugin.Plugin));
                }
            }
        }

        if (problems.Count > 0)
        {
            throw new PluginConfigurationException(problems);
        }
    }

    /// <summary>The declaration of a plugin, or null when it has none (its tools are not conversation-aware).</summary>
    public PluginConversation? Find(string plugin) => _plugins.GetValueOrDefault(plugin);

    /// <summary>True when any plugin declares anything.</summary>
    public bool IsEmpty => _plugins.Count == 0;

    private static string Describe(StateKeyDeclaration key)
        => key.Policy == StatePolicy.Owner ? $"'owner' (owned by '{key.Owner}')" : $"'{key.Policy.ToString().ToLowerInvariant()}'";
}
