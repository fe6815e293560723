using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Switchboard.Scaling;

namespace Switchboard.Security;

/// <summary>
/// Keeps the signing-key ring on schedule: brings it up to date at start (creating the first key on a fresh data folder),
/// then checks every <c>Keys:CheckInterval</c> — reloading changes made by other replicas or the CLI (a revocation
/// reaches every replica within one interval) and rotating when the schedule says so. The same check loads token
/// revocations (<see cref="TokenRevocationList"/>).
/// </summary>
internal sealed partial class KeyRingMaintenance(
    SigningKeyRing ring,
    TokenRevocationList revocations,
    ResourceIdentity identity,
    Storage.SqliteDatabase database,
    IOptions<SecurityOptions> options,
    ReadinessState readiness,
    TimeProvider timeProvider,
    ILogger<KeyRingMaintenance> logger) : BackgroundService, IHostedLifecycleService
{
    public const string ReadinessComponent = "keys";

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        readiness.Register(ReadinessComponent);
        await ring.MaintainAsync(cancellationToken);
        await revocations.RefreshAsync(cancellationToken);
        readiness.MarkReady(ReadinessComponent);
        await base.StartAsync(cancellationToken);
    }

    /// <summary>
    /// Runs after every hosted service started — so after the web server bound its addresses (the identity may name the
    /// port it bound) — and before the start is reported: the identity is recorded so that `switchboard token issue`,
    /// which does not know our listen addresses, mints tokens we accept.
    /// </summary>
    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        await database.SetMetaAsync(ResourceIdentity.IssuerMetaKey, identity.Issuer, cancellationToken);
        await database.SetMetaAsync(ResourceIdentity.ResourceMetaKey, identity.Resource, cancellationToken);
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Keys.CheckInterval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await ring.MaintainAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Keep the keys we have; the next tick tries again.
                    Log.MaintenanceFailed(logger, ex.GetType().Name);
                }

                try
                {
                    await revocations.RefreshAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Keep the revocations we have; the next tick loads what was missed (it reads by sequence number).
                    Log.RevocationRefreshFailed(logger, ex.GetType().Name);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6003, EventName = "KeyRingMaintenanceFailed", Level = LogLevel.Warning, Message = "Signing-key maintenance failed ({ExceptionType}); retrying at the next check")]
        public static partial void MaintenanceFailed(ILogger logger, string exceptionType);

        [LoggerMessage(EventId = 6011, EventName = "TokenRevocationRefreshFailed", Level = LogLevel.Warning, Message = "Loading token revocations failed ({ExceptionType}); retrying at the next check")]
        public static partial void RevocationRefreshFailed(ILogger logger, string exceptionType);
    }
}
