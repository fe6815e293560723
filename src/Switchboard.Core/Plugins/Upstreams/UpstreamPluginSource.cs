using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelContextProtocol.Protocol;
using Switchboard.Hosting;

namespace Switchboard.Plugins.Upstreams;

/// <summary>
/// Serves each upstream as a plugin of the same name. Tools come from what the supervisor knows (the live list, or the
/// cached one); no upstream I/O happens here after the first load. While an upstream is down its tools stay listed but
/// are marked: the description starts with <c>[Unavailable: …]</c> and <c>_meta["switchboard/upstream"].available</c>
/// is false, and calls fail fast with an <c>isError</c> result naming the upstream and when to retry.
/// </summary>
internal sealed partial class UpstreamPluginSource : IPluginSource, IDisposable
{
    /// <summary>The <c>_meta</c> key on every upstream tool.</summary>
    public const string MetaKey = "switchboard/upstream";

    private readonly UpstreamRegistry _registry;
    private readonly ToolCatalog _catalog;
    private readonly IOptions<SwitchboardOptions> _switchboard;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<LoadedPlugin, IReadOnlyList<Tool>?> _loaded = new(ReferenceEqualityComparer.Instance);
    private readonly ConcurrentDictionary<string, byte> _warned = new(StringComparer.Ordinal);

    public UpstreamPluginSource(UpstreamRegistry registry, ToolCatalog catalog, IOptions<SwitchboardOptions> switchboard, ILogger<UpstreamPluginSource> logger)
    {
        _registry = registry;
        _catalog = catalog;
        _switchboard = switchboard;
        _logger = logger;
        _catalog.Changed += OnCatalogPublished;
    }

    public async ValueTask<IReadOnlyList<LoadedPlugin>> LoadAsync(CancellationToken cancellationToken)
    {
        await _registry.EnsureInitializedAsync(cancellationToken);
        _registry.LoadedChangeVersion = _registry.ChangeVersion;
        _loaded.Clear();

        var plugins = new List<LoadedPlugin>(_registry.Supervisors.Count);
        foreach (var supervisor in _registry.Supervisors)
        {
            var tools = _registry.ToolsToServe(supervisor);
            var status = supervisor.Status;
            var pluginTools = new List<PluginTool>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var tool in tools ?? [])
            {
                // Junk from an upstream must not stop the catalog: nameless and repeated tools are left out.
                if (string.IsNullOrEmpty(tool.Name) || !names.Add(tool.Name))
                {
                    WarnOnce($"bad:{supervisor.Name}:{tool.Name}", () => Log.ToolSkipped(_logger, supervisor.Name, tool.Name ?? string.Empty));
                    continue;
                }

                pluginTools.Add(new PluginTool(Mark(tool, supervisor.Name, status), new UpstreamToolInvoker(supervisor, tool.Name)));
            }

            if (tools is not null)
            {
                WarnAboutSettingsForAbsentTools(supervisor.Name, names);
            }

            var plugin = new LoadedPlugin(supervisor.Name, supervisor.Options.Version!, supervisor.Source, ToolNamePrefix: null, supervisor.Options.Timeout, pluginTools)
            {
                HasDynamicTools = true,
                Execution = ToolExecution.Inline,
            };
            _loaded[plugin] = tools;
            plugins.Add(plugin);
        }

        return plugins;
    }

    public void Dispose() => _catalog.Changed -= OnCatalogPublished;

    /// <summary>The tool as listed: the upstream's definition plus the availability mark.</summary>
    internal static Tool Mark(Tool tool, string upstream, UpstreamStatus status)
    {
        var meta = tool.Meta?.DeepClone() as JsonObject ?? [];
        var info = new JsonObject { ["name"] = upstream, ["available"] = status.IsAvailable };
        if (!status.IsAvailable)
        {
            info["reason"] = status.Reason;
            if (status.RetryAt is { } retryAt)
            {
                info["retryAt"] = retryAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        meta[MetaKey] = info;
        return new Tool
        {
            Name = tool.Name,
            Title = tool.Title,
            Description = status.IsAvailable
                ? tool.Description
                : $"[Unavailable: upstream server '{upstream}' is down; {status.Reason}.] {tool.Description}".TrimEnd(),
            InputSchema = tool.InputSchema,
            OutputSchema = tool.OutputSchema,
            Annotations = tool.Annotations,
            Icons = tool.Icons,
            Meta = meta,
        };
    }

    private void OnCatalogPublished(object? sender, CatalogSnapshot snapshot)
    {
        // The lists in a published catalog are the ones to fall back to if a later list cannot be served.
        foreach (var plugin in snapshot.Plugins)
        {
            if (_loaded.TryGetValue(plugin, out var tools))
            {
                _registry.Accept(plugin.Name, tools);
            }
        }
    }

    private void WarnAboutSettingsForAbsentTools(string upstream, HashSet<string> names)
    {
        if (!_switchboard.Value.Plugins.TryGetValue(upstream, out var settings))
        {
            return;
        }

        foreach (var configured in settings.Tools.Keys)
        {
            if (!names.Contains(configured))
            {
                WarnOnce($"absent:{upstream}:{configured}", () => Log.SettingForAbsentTool(_logger, upstream, configured));
            }
        }
    }

    private void WarnOnce(string key, Action log)
    {
        if (_warned.TryAdd(key, 0))
        {
            log();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2221, EventName = "UpstreamToolSkipped", Level = LogLevel.Warning, Message = "Upstream {Upstream}: tool '{Tool}' is nameless or listed twice and is not served")]
        public static partial void ToolSkipped(ILogger logger, string upstream, string tool);

        [LoggerMessage(EventId = 2222, EventName = "UpstreamSettingForAbsentTool", Level = LogLevel.Warning, Message = "Switchboard:Plugins:{Upstream}:Tools:{Tool} names a tool upstream {Upstream} does not list now; it applies if the tool appears")]
        public static partial void SettingForAbsentTool(ILogger logger, string upstream, string tool);
    }
}
