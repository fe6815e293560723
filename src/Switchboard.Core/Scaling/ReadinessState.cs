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
