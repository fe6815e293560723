using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Switchboard.Plugins.Upstreams;

/// <summary>
/// Rebuilds the catalog when an upstream's tools or availability change, so connected clients get
/// <c>tools/list_changed</c>. Changes are coalesced (one rebuild at a time, at most one more queued). When the newest
/// tool lists cannot be served (say an upstream added a tool whose name collides with another plugin's), the problem is
/// logged and the catalog is rebuilt from the last accepted lists, so availability marks still go out.
/// </summary>
internal sealed partial class UpstreamCatalogRefresher(UpstreamRegistry registry, PluginCatalogLoader loader, ILogger<UpstreamCatalogRefresher> logger) : IHostedService, IDisposable
{
    private readonly Channel<bool> _signals = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stopping = new();
    private Task? _loop;
    private string? _lastProblem;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        registry.Changed += Signal;
        _loop = RunAsync(_stopping.Token);

        // Changes that happened between the first catalog load and now.
        if (registry.ChangeVersion != registry.LoadedChangeVersion)
        {
            Signal();
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        registry.Changed -= Signal;
        _signals.Writer.TryComplete();
        await _stopping.CancelAsync();
        if (_loop is not null)
        {
            try
            {
                await _loop.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // The host's shutdown budget ran out; the loop ends on its own.
            }
        }
    }

    public void Dispose() => _stopping.Dispose();

    private void Signal() => _signals.Writer.TryWrite(true);

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var _ in _signals.Reader.ReadAllAsync(cancellationToken))
            {
                await RefreshAsync(cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        try
        {
            registry.ServeLatestToolLists = true;
            await loader.ReloadAsync(cancellationToken);
            _lastProblem = null;
        }
        catch (PluginConfigurationException ex)
        {
            if (!string.Equals(ex.Message, _lastProblem, StringComparison.Ordinal))
            {
                _lastProblem = ex.Message;
                Log.NewToolsRefused(logger, ex.Message);
            }

            registry.ServeLatestToolLists = false;
            try
            {
                await loader.ReloadAsync(cancellationToken);
            }
            catch (PluginConfigurationException)
            {
                // Even the accepted lists no longer fit: the last published catalog stays.
            }
            finally
            {
                registry.ServeLatestToolLists = true;
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            Log.RefreshFailed(logger, ex.GetType().Name, ex);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2223, EventName = "UpstreamToolsRefused", Level = LogLevel.Warning, Message = "An upstream's new tool list cannot be served; its previous list stays. {Problem}")]
        public static partial void NewToolsRefused(ILogger logger, string problem);

        [LoggerMessage(EventId = 2224, EventName = "UpstreamCatalogRefreshFailed", Level = LogLevel.Error, Message = "Rebuilding the catalog after an upstream change failed ({ExceptionType})")]
        public static partial void RefreshFailed(ILogger logger, string exceptionType, Exception exception);
    }
}
