using System.Collections.Concurrent;

namespace Switchboard.Scaling;

/// <summary>
/// Tracks which parts of the server are ready. <c>/readyz</c> answers 200 only when every registered part is ready,
/// so a load balancer never sends traffic to a replica that is still opening storage or loading plugins, or that has
/// begun to shut down.
/// </summary>
public sealed class ReadinessState
{
    public const string Storage = "storage";
    public const string Plugins = "plugins";

    private readonly ConcurrentDictionary<string, ComponentState> _components = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ComponentState> _warmups = new(StringComparer.Ordinal);

    /// <summary>Declares a part that must become ready.</summary>
    public void Register(string component) => _components.TryAdd(component, ComponentState.Starting);

    public void MarkReady(string component) => _components[component] = ComponentState.Ready;

    public void MarkFailed(string component) => _components[component] = ComponentState.Failed;

    private volatile bool _stopping;

    /// <summary>True once shutdown has begun: the replica should get no new traffic while in-flight requests finish.</summary>
    public bool IsStopping => _stopping;

    /// <summary>Marks the start of a graceful shutdown.</summary>
    public void MarkStopping() => _stopping = true;

    /// <summary>True when at least one part is registered, all are ready, and shutdown has not begun.</summary>
    public bool IsReady => !_stopping && !_components.IsEmpty && _components.Values.All(s => s == ComponentState.Ready);

    /// <summary>
    /// Declares background work that is not needed to serve (readiness does not wait for it) but that makes calls
    /// faster once done, such as loading detector data; <c>/readyz</c> reports <c>warm</c> when all of it has finished.
    /// </summary>
    public void RegisterWarmup(string work) => _warmups.TryAdd(work, ComponentState.Starting);

    public void MarkWarm(string work) => _warmups[work] = ComponentState.Ready;

    public void MarkWarmupFailed(string work) => _warmups[work] = ComponentState.Failed;

    /// <summary>True when every registered warm-up has finished (failed warm-ups count as finished: they cost speed, not service).</summary>
    public bool IsWarm => _warmups.Values.All(s => s != ComponentState.Starting);

    /// <summary>The warm-up work and its states, sorted by name.</summary>
    public IReadOnlyList<KeyValuePair<string, ComponentState>> Warmups
        => _warmups.OrderBy(c => c.Key, StringComparer.Ordinal).ToList();

    /// <summary>The parts and their states, sorted by name.</summary>
    public IReadOnlyList<KeyValuePair<string, ComponentState>> Components
        => _components.OrderBy(c => c.Key, StringComparer.Ordinal).ToList();
}

public enum ComponentState
{
    Starting,
    Ready,
    Failed,
}

/// <summary>Flips readiness to "stopping" as soon as the host begins a graceful shutdown.</summary>
internal sealed class ShutdownReadiness(Microsoft.Extensions.Hosting.IHostApplicationLifetime lifetime, ReadinessState readiness) : Microsoft.Extensions.Hosting.IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStopping.Register(readiness.MarkStopping);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
