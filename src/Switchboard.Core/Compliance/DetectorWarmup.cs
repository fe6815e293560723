using System.Text.Json.Nodes;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Switchboard.Hosting;
using Switchboard.Compliance.Masking;
using Switchboard.Scaling;

namespace Switchboard.Compliance;

/// <summary>
/// Loads the detectors' data in the background once the server has started, by scanning a sample that every built-in
/// detector looks at (the phone-number metadata is the heaviest part). Serving does not wait for it; without it the
/// first call that is scanned pays the load. <c>/readyz</c> reports <c>warm</c> once it is done. The garbage it leaves
/// is given back by <see cref="IdleHeapCompactor"/> once the server is quiet.
/// </summary>
internal sealed partial class DetectorWarmup(
    MaskingEngine engine,
    ReadinessState readiness,
    ILogger<DetectorWarmup> logger) : IHostedLifecycleService
{
    public const string WarmupName = "detectors";

    private Task? _running;

    public Task StartingAsync(CancellationToken cancellationToken)
    {
        readiness.RegisterWarmup(WarmupName);
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken)
    {
        _running = Task.Run(Warm, CancellationToken.None);
        return Task.CompletedTask;
    }

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => _running ?? Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

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
