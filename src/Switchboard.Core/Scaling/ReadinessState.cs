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
    public bool IsReady => !_stopping && AllReady(_components);

    /// <summary>
    /// Declares background work that is not needed to serve (readiness does not wait for it) but that makes calls
    /// faster once done, such as loading detector data; <c>/readyz</c> reports <c>warm</c> when all of it has finished.
    /// </summary>
    public void RegisterWarmup(string work) => _warmups.TryAdd(work, ComponentState.Starting);

    public void MarkWarm(string work) => _warmups[work] = ComponentState.Ready;

    public void MarkWarmupFailed(string work) => _warmups[work] = ComponentState.Failed;

    /// <summary>True when every registered warm-up has finished (failed warm-ups count as finished: they cost speed, not service).</summary>
    public bool IsWarm => AllFinished(_warmups);

    /// <summary>The warm-up work and its states, sorted by name.</summary>
    public IReadOnlyList<KeyValuePair<string, ComponentState>> Warmups
        => _warmups.OrderBy(c => c.Key, StringComparer.Ordinal).ToList();

    /// <summary>The parts and their states, sorted by name.</summary>
    public IReadOnlyList<KeyValuePair<string, ComponentState>> Components
        => _components.OrderBy(c => c.Key, StringComparer.Ordinal).ToList();

    /// <summary>
    /// One consistent view for a report: the flags are derived from the same copies of the states that are listed, so a
    /// part that changes state meanwhile cannot make the report say "warm" beside a warm-up still "starting".
    /// </summary>
    public ReadinessSnapshot Snapshot()
    {
        var stopping = _stopping;
        var components = Components;
        var warmups = Warmups;
        return new ReadinessSnapshot(components, warmups, !stopping && AllReady(components), stopping, AllFinished(warmups));
    }

    private static bool AllReady(IEnumerable<KeyValuePair<string, ComponentState>> parts)
        => parts.Any() && parts.All(p => p.Value == ComponentState.Ready);

    private static bool AllFinished(IEnumerable<KeyValuePair<string, ComponentState>> work)
        => work.All(w => w.Value != ComponentState.Starting);
}

/// <summary>The readiness state as one consistent copy (see <see cref="ReadinessState.Snapshot"/>).</summary>
public sealed record ReadinessSnapshot(
    IReadOnlyList<KeyValuePair<string, ComponentState>> Components,
    IReadOnlyList<KeyValuePair<string, ComponentState>> Warmups,
    bool IsReady,
    bool IsStopping,
    bool IsWarm);

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
