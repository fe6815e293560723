using Microsoft.Extensions.Compliance.Redaction;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Switchboard.Compliance.Audit;
using Switchboard.Compliance.Detection;
using Switchboard.Compliance.Masking;
using Switchboard.Hosting;
using Switchboard.Pipeline;

namespace Switchboard.Compliance;

public static class ComplianceServiceCollectionExtensions
{
    /// <summary>
    /// Registers detection and masking (options <c>Switchboard:Compliance</c>), the audit log with its stages at 200,
    /// 700 and 1000, checkpointing, and redaction of classified log properties. Called by <c>AddSwitchboard</c>.
    /// </summary>
    public static ISwitchboardBuilder AddCompliance(this ISwitchboardBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        AddComplianceCore(services);
        services.TryAddSingleton<ComplianceKeyLoader>();
        services.TryAddSingleton<AuditLog>();
        services.TryAddSingleton<AuditRecordFactory>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<GatewayStage, AuditStage>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<GatewayStage, InboundMaskingStage>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<GatewayStage, OutboundMaskingStage>());
        services.AddHostedService<ComplianceHost>();
        services.AddHostedService<DetectorWarmup>();

        // Classified log properties ([PrivateData]) are written as keyed pseudonyms; anything classified without a
        // redactor is erased.
        services.AddRedaction(redaction =>
        {
            redaction.SetRedactor<PrivateDataRedactor>(new Microsoft.Extensions.Compliance.Classification.DataClassificationSet(SwitchboardTaxonomy.PrivateData));
            redaction.SetFallbackRedactor<ErasingRedactor>();
        });
        services.AddLogging(logging => logging.EnableRedaction());
        return builder;
    }

    /// <summary>What both the server and the offline commands need: options, detectors, policy, keys.</summary>
    internal static void AddComplianceCore(IServiceCollection services)
    {
        services.AddOptions<ComplianceOptions>().BindConfiguration(ComplianceOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ComplianceOptions>, ComplianceOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => ComplianceDetectors.CreateScanner(sp.GetRequiredService<IOptions<ComplianceOptions>>()));
        services.TryAddSingleton(sp => new MaskingPolicy(sp.GetRequiredService<IOptions<ComplianceOptions>>().Value));
        services.TryAddSingleton<ComplianceKeys>();
        services.TryAddSingleton<TokenVaultStore>();
        services.TryAddSingleton<MaskingEngine>();
        services.TryAddSingleton<AuditSummarizer>();
    }
}

/// <summary>
/// Loads the compliance key and opens the audit log at start; writes a signed checkpoint every
/// <see cref="AuditOptions.CheckpointInterval"/> (also when nothing happened, so silence is provable) and one at shutdown.
/// </summary>
internal sealed partial class ComplianceHost(
    ComplianceKeyLoader keys,
    AuditLog log,
    IOptions<ComplianceOptions> options,
    TimeProvider timeProvider,
    ILogger<ComplianceHost> logger) : BackgroundService
{
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await keys.LoadAsync(cancellationToken);
        if (log.Enabled)
        {
            await log.StartAsync(cancellationToken);
        }

        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!log.Enabled)
        {
            return;
        }

        // The first checkpoint is signed here, in the background, so start-up (and a stdio client's first request) does
        // not wait for the signature and its fsync.
        using var timer = new PeriodicTimer(options.Value.Audit.CheckpointInterval, timeProvider);
        try
        {
            await log.CheckpointAsync(stoppingToken);
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await log.CheckpointAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (log.Enabled)
        {
            var checkpoint = await log.CheckpointAsync(CancellationToken.None);
            await log.DisposeAsync();
            if (checkpoint is not null)
            {
                Log.ShutdownCheckpoint(logger, checkpoint.TreeSize);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7301, EventName = "AuditShutdownCheckpoint", Level = LogLevel.Information, Message = "Audit: shutdown checkpoint at tree size {TreeSize}")]
        public static partial void ShutdownCheckpoint(ILogger logger, long treeSize);
    }
}

/// <summary>Writes classified log values as a keyed pseudonym (<c>pd:</c> and 16 hex characters), stable within a process.</summary>
internal sealed class PrivateDataRedactor(ComplianceKeys keys) : Microsoft.Extensions.Compliance.Redaction.Redactor
{
    private const int Length = 19;

    public override int GetRedactedLength(ReadOnlySpan<char> input) => input.IsEmpty ? 0 : Length;

    public override int Redact(ReadOnlySpan<char> source, Span<char> destination)
    {
        if (source.IsEmpty)
        {
            return 0;
        }

        var text = "pd:" + (keys.IsLoaded ? keys.Pseudonymizer.Pseudonym(null, "LOG", source.ToString()) : new string('x', 16));
        text.AsSpan().CopyTo(destination);
        return Length;
    }
}
