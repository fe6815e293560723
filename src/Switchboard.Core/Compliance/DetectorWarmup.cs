using System.Text.Json.Nodes;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Switchboard.Hosting;
using Switchboard.Compliance.Masking;
using Switchboard.Scaling;

namespace Switchboard.Compliance;

/// <summary>
/// Loads the detectors' data in the background once the server has started, by scanning a sample that every built-in
/// detector looks at (the phone-number metadata is the heaviest part). Serving does not wait for it; without it the
/// first call that is scanned pays the load. <c>/readyz</c> reports <c>warm</c> once it is done. With
/// <see cref="SwitchboardOptions.CompactHeapAfterStart"/>, one aggressive collection follows a moment later.
/// </summary>
internal sealed partial class DetectorWarmup(
    MaskingEngine engine,
    ReadinessState readiness,
    IOptions<SwitchboardOptions> options,
    TimeProvider timeProvider,
    ILogger<DetectorWarmup> logger) : IHostedLifecycleService, IDisposable
{
    public const string WarmupName = "detectors";

    /// <summary>
    /// How long after the warm-up the heap is compacted. Not at once: the collection stops every thread for tens of
    /// milliseconds, and right after start that landed on the first readiness probes (measured: readiness 165 -> 190 ms
    /// on the Native AOT build when compacting at once).
    /// </summary>
    public static readonly TimeSpan CompactionDelay = TimeSpan.FromSeconds(1);

    private readonly CancellationTokenSource _stopping = new();
    private Task? _running;

    public Task StartingAsync(CancellationToken cancellationToken)
    {
        readiness.RegisterWarmup(WarmupName);
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken)
    {
        _running = Task.Run(RunAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    public Task StoppingAsync(CancellationToken cancellationToken) => _stopping.CancelAsync();

    public Task StopAsync(CancellationToken cancellationToken) => _running ?? Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _stopping.Dispose();

    private async Task RunAsync()
    {
        Warm();
        if (!options.Value.CompactHeapAfterStart)
        {
            return;
        }

        try
        {
            await Task.Delay(CompactionDelay, timeProvider, _stopping.Token);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        // Start-up leaves megabytes of garbage (configuration binding, the plugin catalog, parsing the phone-number
        // metadata) that an idle server would otherwise keep resident until enough allocations trigger a collection;
        // one aggressive collection returns it to the system (the effect on idle RSS is in docs/benchmarks.md).
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    private void Warm()
    {
        try
        {
            // Synthetic values only (documentation ranges and test numbers); the result is thrown away.
            var sample = new JsonObject
            {
                ["text"] = "mail someone@example.com or call +1 202 555 0143, card 4111 1111 1111 1111, host 192.0.2.1 2001:db8::1, 13800138000",
                ["count"] = 42,
            };
            engine.Apply(sample, new MaskingScope(null, null, MaskingDirection.Results, null, null));
            readiness.MarkWarm(WarmupName);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            readiness.MarkWarmupFailed(WarmupName);
            Log.WarmupFailed(logger, ex.GetType().Name);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7901, Level = LogLevel.Warning, Message = "Compliance: warming the detectors failed ({ExceptionType}); the first scanned call will load them instead.")]
        public static partial void WarmupFailed(ILogger logger, string exceptionType);
    }
}
