using ModelContextProtocol.Protocol;
using Switchboard.Hosting;

namespace Switchboard.Plugins;

/// <summary>
/// Applies naming rules and settings to loaded plugins and produces a <see cref="CatalogSnapshot"/>. Every problem
/// is collected (not just the first) and reported together, each naming the sources involved.
/// </summary>
internal static class ToolCatalogBuilder
{
    public static CatalogSnapshot Build(
        IReadOnlyList<LoadedPlugin> plugins,
        ToolOptions toolOptions,
        IReadOnlyDictionary<string, PluginSettings> settings,
        long version)
    {
        ArgumentNullException.ThrowIfNull(plugins);
        ArgumentNullException.ThrowIfNull(toolOptions);
        ArgumentNullException.ThrowIfNull(settings);

        var problems = new List<string>();
        var byPlugin = CheckPlugins(plugins, problems);
        CheckSettingsNameKnownPlugins(settings, byPlugin, problems);

        var exposed = new Dictionary<string, CatalogTool>(StringComparer.Ordinal);
        var included = new List<LoadedPlugin>();
        foreach (var plugin in byPlugin.Values)
        {
            settings.TryGetValue(plugin.Name, out var pluginSettings);
            if (pluginSettings is { Enabled: false })
            {
                continue;
            }

            included.Add(plugin);
            AddPluginTools(plugin, pluginSettings, toolOptions, exposed, problems);
        }

        if (problems.Count > 0)
        {
            throw new PluginConfigurationException(problems);
        }

        return new CatalogSnapshot(exposed.Values, included, version);
    }

    private static Dictionary<string, LoadedPlugin> CheckPlugins(IReadOnlyList<LoadedPlugin> plugins, List<string> problems)
    {
        var byName = new Dictionary<string, LoadedPlugin>(StringComparer.Ordinal);
        foreach (var plugin in plugins)
        {
            if (!ToolNaming.IsValidPluginName(plugin.Name))
            {
                problems.Add($"Plugin name '{plugin.Name}' ({plugin.Source}) is invalid: use 1-32 lowercase letters, digits or hyphens, starting with a letter.");
                continue;
            }

            if (plugin.ToolNamePrefix is { Length: > 0 } prefix && !IsValidPrefix(prefix))
            {
                problems.Add($"Tool name prefix '{prefix}' of plugin '{plugin.Name}' ({plugin.Source}) is invalid: use letters, digits or hyphens (no underscore).");
            }

            if (string.IsNullOrWhiteSpace(plugin.Version))
            {
                problems.Add($"Plugin '{plugin.Name}' ({plugin.Source}) has no version.");
            }

            if (byName.TryGetValue(plugin.Name, out var first))
            {
                problems.Add($"Plugin name '{plugin.Name}' is registered twice: by {first.Source} and by {plugin.Source}.");
                continue;
            }

            byName.Add(plugin.Name, plugin);
        }

        return byName;
    }

    private static void CheckSettingsNameKnownPlugins(
        IReadOnlyDictionary<string, PluginSettings> settings,
        Dictionary<string, LoadedPlugin> byPlugin,
        List<string> problems)
    {
        foreach (var name in settings.Keys.Order(StringComparer.Ordinal))
        {
            if (!byPlugin.ContainsKey(name))
            {
                var known = byPlugin.Count == 0 ? "none" : string.Join(", ", byPlugin.Keys.Order(StringComparer.Ordinal));
                problems.Add($"Configuration section Switchboard:Plugins:{name} names a plugin that is not registered (registered plugins: {known}).");
            }
        }
    }

    private static void AddPluginTools(
        LoadedPlugin plugin,
        PluginSettings? pluginSettings,
        ToolOptions toolOptions,
        Dictionary<string, CatalogTool> exposed,
        List<string> problems)
    {
        var prefix = plugin.ToolNamePrefix ?? plugin.Name;
        var localNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var tool in plugin.Tools)
        {
            var localName = tool.ProtocolTool.Name;
            if (string.IsNullOrEmpty(localName) || !localNames.Add(localName))
            {
                problems.Add($"Plugin '{plugin.Name}' ({plugin.Source}) declares tool '{localName}' more than once.");
                continue;
            }

            ToolSettings? toolSettings = null;
            pluginSettings?.Tools.TryGetValue(localName, out toolSettings);
            var name = ResolveExposedName(plugin, prefix, localName, toolSettings, toolOptions, problems);
            if (name is null)
            {
                continue;
            }

            var timeout = toolSettings?.Timeout ?? pluginSettings?.Timeout ?? plugin.DefaultTimeout ?? toolOptions.DefaultTimeout;
            if (timeout <= TimeSpan.Zero)
            {
                problems.Add($"Timeout of tool '{localName}' of plugin '{plugin.Name}' must be positive.");
                continue;
            }

            var maxOverrunning = pluginSettings?.MaxOverrunningCalls ?? toolOptions.MaxOverrunningCallsPerPlugin;
            var entry = new CatalogTool(name, plugin, localName, WithName(tool.ProtocolTool, name), timeout, tool.Invoker)             {
                MaxOverrunningCalls = maxOverrunning,
                Execution = pluginSettings?.Execution ?? plugin.Execution,
            };
            if (exposed.TryGetValue(name, out var existing))
            {
                problems.Add(
                    $"Tool name '{name}' is produced by both {existing.Source} and {entry.Source}. " +
                    $"Give one of them an alias in Switchboard:Plugins:<plugin>:Tools:<tool>:Alias.");
                continue;
            }

            exposed.Add(name, entry);
        }

        if (pluginSettings is not null && !plugin.HasDynamicTools)
        {
            foreach (var configured in pluginSettings.Tools.Keys.Order(StringComparer.Ordinal))
            {
                if (!localNames.Contains(configured))
                {
                    problems.Add($"Configuration section Switchboard:Plugins:{plugin.Name}:Tools:{configured} names a tool that plugin '{plugin.Name}' does not have.");
                }
            }
        }
    }

    private static string? ResolveExposedName(
        LoadedPlugin plugin,
        string prefix,
        string localName,
        ToolSettings? toolSettings,
        ToolOptions toolOptions,
        List<string> problems)
    {
        if (toolSettings?.Alias is { } alias)
        {
            if (!ToolNaming.IsValidExposedName(alias) || alias.Length > toolOptions.MaxNameLength)
            {
                problems.Add(
                    $"Alias '{alias}' of tool '{localName}' of plugin '{plugin.Name}' is invalid: " +
                    $"use 1-{toolOptions.MaxNameLength} characters of A-Z, a-z, 0-9, '_' or '-'.");
                return null;
            }

            return alias;
        }

        return ToolNaming.Expose(prefix, localName, toolOptions.MaxNameLength);
    }

    private static bool IsValidPrefix(string prefix)
        => prefix.Length <= 32 && prefix.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');

    private static Tool WithName(Tool tool, string name) => string.Equals(tool.Name, name, StringComparison.Ordinal)
        ? tool
        : new Tool
        {
            Name = name,
            Title = tool.Title,
            Description = tool.Description,
            InputSchema = tool.InputSchema,
            OutputSchema = tool.OutputSchema,
            Annotations = tool.Annotations,
            Icons = tool.Icons,
            Meta = tool.Meta,
        };
}
