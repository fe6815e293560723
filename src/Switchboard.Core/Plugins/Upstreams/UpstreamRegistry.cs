using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelContextProtocol.Protocol;
using Switchboard.Hosting;

namespace Switchboard.Plugins.Upstreams;

/// <summary>
/// Owns one <see cref="UpstreamSupervisor"/> per configured upstream for the life of the gateway. The first catalog
/// load initializes them (bounded by each upstream's start timeout, all in parallel), so the first <c>tools/list</c>
/// already shows upstream tools; afterwards tool lists never wait for an upstream. Stopping the gateway disposes every
/// supervisor, which ends every upstream session and child process.
/// </summary>
internal sealed partial class UpstreamRegistry : IHostedService, IAsyncDisposable
{
    private readonly UpstreamSupervisor[] _supervisors;
    private readonly Dictionary<string, string> _fingerprints = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _savedToolVersions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IReadOnlyList<Tool>?> _accepted = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly UpstreamToolCache _cache;
    private readonly IOptions<SwitchboardOptions> _switchboard;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private Task? _initialization;
    private Task? _disposal;
    private long _changeVersion;

    public UpstreamRegistry(
        IOptions<UpstreamsOptions> options,
        IOptions<SwitchboardOptions> switchboard,
        UpstreamToolCache cache,
        TimeProvider timeProvider,
        ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _cache = cache;
        _switchboard = switchboard;
        _logger = loggerFactory.CreateLogger<UpstreamRegistry>();
        _supervisors = options.Value.Upstreams
            .OrderBy(u => u.Key, StringComparer.Ordinal)
            .Select(u => new UpstreamSupervisor(u.Key, u.Value, timeProvider, loggerFactory))
            .ToArray();
        foreach (var supervisor in _supervisors)
        {
            _fingerprints[supervisor.Name] = UpstreamToolCache.Fingerprint(supervisor.Options);
            supervisor.Changed += OnSupervisorChanged;
        }
    }

    /// <summary>Raised when any upstream's tools or availability changed; the catalog should be rebuilt.</summary>
    public event Action? Changed;

    public IReadOnlyList<UpstreamSupervisor> Supervisors => _supervisors;

    /// <summary>Increases with every change; compared with <see cref="LoadedChangeVersion"/> to tell whether the catalog is behind.</summary>
    public long ChangeVersion => Interlocked.Read(ref _changeVersion);

    /// <summary>The <see cref="ChangeVersion"/> the last catalog load saw.</summary>
    public long LoadedChangeVersion { get; set; }

    /// <summary>
    /// True to serve each upstream's newest tool list; false to serve the lists of the last catalog that was accepted,
    /// used when a newer list cannot be served (for example a name collision with another plugin).
    /// </summary>
    public bool ServeLatestToolLists { get; set; } = true;

    public UpstreamSupervisor? Find(string name) => _supervisors.FirstOrDefault(s => s.Name == name);

    /// <summary>Starts eager upstreams and learns every upstream's tools, once; later calls return the same task.</summary>
    public Task EnsureInitializedAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return _initialization ??= Task.WhenAll(_supervisors.Select(s => InitializeAsync(s, cancellationToken)));
        }
    }

    /// <summary>The tool list the catalog should serve for an upstream now.</summary>
    public IReadOnlyList<Tool>? ToolsToServe(UpstreamSupervisor supervisor)
    {
        ArgumentNullException.ThrowIfNull(supervisor);
        if (ServeLatestToolLists)
        {
            return supervisor.Tools;
        }

        lock (_gate)
        {
            return _accepted.GetValueOrDefault(supervisor.Name);
        }
    }

    /// <summary>Records the tool list a published catalog contains, to fall back to if a later list is refused.</summary>
    public void Accept(string upstream, IReadOnlyList<Tool>? tools)
    {
        lock (_gate)
        {
            _accepted[upstream] = tools;
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken)
    {
        // Not cut short by the host's shutdown budget: leaving now would orphan child processes. Disposal is bounded
        // anyway, by each upstream's ShutdownTimeout (after which its process tree is killed).
        return DisposeAllAsync();
    }

    public async ValueTask DisposeAsync() => await DisposeAllAsync();

    private Task DisposeAllAsync()
    {
        lock (_gate)
        {
            return _disposal ??= DisposeCoreAsync();
        }

        async Task DisposeCoreAsync()
        {
            await _stopping.CancelAsync();
            foreach (var supervisor in _supervisors)
            {
                supervisor.Changed -= OnSupervisorChanged;
            }

            await Task.WhenAll(_supervisors.Select(s => s.DisposeAsync().AsTask()));
        }
    }

    private async Task InitializeAsync(UpstreamSupervisor supervisor, CancellationToken cancellationToken)
    {
        // A plugin switched off in Switchboard:Plugins is not started at all.
        if (_switchboard.Value.Plugins.TryGetValue(supervisor.Name, out var settings) && !settings.Enabled)
        {
            return;
        }

        var cached = await _cache.TryLoadAsync(supervisor.Name, _fingerprints[supervisor.Name], cancellationToken);
        if (cached is not null)
        {
            supervisor.SeedTools(cached);
            lock (_gate)
            {
                _savedToolVersions[supervisor.Name] = supervisor.ToolsVersion;
            }
        }

        if (supervisor.Options.Start == UpstreamStartMode.Eager)
        {
            await supervisor.TryStartAsync(cancellationToken);
        }
        else if (cached is null && await supervisor.TryStartAsync(cancellationToken))
        {
            // Lazy and never seen before: it ran once to learn its tools, and waits for its first call from now on.
            await supervisor.StopAsync();
            Log.Discovered(_logger, supervisor.Name, supervisor.Tools?.Count ?? 0);
        }
    }

    private void OnSupervisorChanged(UpstreamSupervisor supervisor)
    {
        Interlocked.Increment(ref _changeVersion);
        SaveToolsIfChanged(supervisor);
        Changed?.Invoke();
    }

    private void SaveToolsIfChanged(UpstreamSupervisor supervisor)
    {
        var version = supervisor.ToolsVersion;
        var tools = supervisor.Tools;
        lock (_gate)
        {
            if (tools is null || _savedToolVersions.GetValueOrDefault(supervisor.Name) == version)
            {
                return;
            }

            _savedToolVersions[supervisor.Name] = version;
        }

        _ = _cache.SaveAsync(supervisor.Name, _fingerprints[supervisor.Name], tools, _stopping.Token);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2220, EventName = "UpstreamDiscovered", Level = LogLevel.Information, Message = "Upstream {Upstream}: learned its {ToolCount} tools and stopped it until first use")]
        public static partial void Discovered(ILogger logger, string upstream, int toolCount);
    }
}
