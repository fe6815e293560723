using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Switchboard.Hosting;
using Switchboard.Scaling;

namespace Switchboard.Plugins;

/// <summary>
/// Loads every plugin source at start, builds the catalog and publishes it. An invalid plugin set stops start-up with
/// a <see cref="PluginConfigurationException"/> that names every problem.
/// </summary>
internal sealed partial class PluginCatalogLoader(
    IEnumerable<IPluginSource> sources,
    ToolCatalog catalog,
    IOptions<SwitchboardOptions> options,
    ReadinessState readiness,
    ILogger<PluginCatalogLoader> logger) : IHostedService, IDisposable
{
    private readonly SemaphoreSlim _reloadLock = new(1, 1);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        readiness.Register(ReadinessState.Plugins);
        await ReloadAsync(cancellationToken);
        readiness.MarkReady(ReadinessState.Plugins);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _reloadLock.Dispose();

    /// <summary>Rebuilds the catalog from all sources and publishes it.</summary>
    public async Task ReloadAsync(CancellationToken cancellationToken)
    {
        await _reloadLock.WaitAsync(cancellationToken);
        try
        {
            var plugins = new List<LoadedPlugin>();
            foreach (var source in sources)
            {
                plugins.AddRange(await source.LoadAsync(cancellationToken));
            }

            var value = options.Value;
            var previous = catalog.Current;
            var snapshot = ToolCatalogBuilder.Build(plugins, value.Tools, value.Plugins, catalog.NextVersion);
            catalog.Publish(snapshot);
            if (logger.IsEnabled(LogLevel.Information))
            {
                // Reloads happen on every upstream change; name only the plugins whose version or tool count moved.
                foreach (var plugin in snapshot.Plugins)
                {
                    var tools = snapshot.Tools.Count(t => ReferenceEquals(t.Plugin, plugin));
                    var before = previous.Plugins.FirstOrDefault(p => p.Name == plugin.Name);
                    if (before is null || before.Version != plugin.Version || previous.Tools.Count(t => ReferenceEquals(t.Plugin, before)) != tools)
                    {
                        Log.PluginLoaded(logger, plugin.Name, plugin.Version, tools);
                    }
                }
            }
        }
        finally
        {
            _reloadLock.Release();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2101, EventName = "PluginLoaded", Level = LogLevel.Information, Message = "Plugin {Plugin} {Version} loaded with {ToolCount} tools")]
        public static partial void PluginLoaded(ILogger logger, string plugin, string version, int toolCount);
    }
}
