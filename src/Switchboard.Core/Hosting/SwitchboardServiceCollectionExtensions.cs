using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using ModelContextProtocol.AspNetCore;
using ModelContextProtocol.Server;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Switchboard.Compliance;
using Switchboard.Conversations;
using Switchboard.Diagnostics;
using Switchboard.Pipeline;
using Switchboard.Plugins;
using Switchboard.Plugins.Samples;
using Switchboard.Scaling;
using Switchboard.Scaling.Limits;
using Switchboard.Security;
using Switchboard.Storage;
using Switchboard.Transports.Http;
using Switchboard.Transports.Mcp;

namespace Switchboard.Hosting;

/// <summary>Adds Switchboard to a service collection; features chain on the returned builder.</summary>
public interface ISwitchboardBuilder
{
    IServiceCollection Services { get; }
}

internal sealed class SwitchboardBuilder(IServiceCollection services) : ISwitchboardBuilder
{
    public IServiceCollection Services { get; } = services;
}

public static class SwitchboardServiceCollectionExtensions
{
    /// <summary>
    /// Registers the gateway core: options (bound from the <c>Switchboard</c> section and validated at start), storage,
    /// the plugin catalog, the message pipeline, the MCP server (both protocol eras, without a transport) and telemetry.
    /// Transports and plugins are added on the returned builder (<c>AddStreamableHttpTransport</c>,
    /// <c>AddSamplePlugins</c>, ...).
    /// </summary>
    public static ISwitchboardBuilder AddSwitchboard(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        var section = configuration.GetSection(SwitchboardOptions.SectionName);
        services.AddOptions<SwitchboardOptions>().Bind(section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SwitchboardOptions>, SwitchboardOptionsValidator>());
        services.AddOptions<HostOptions>().Configure<IOptions<SwitchboardOptions>>((host, sb) => host.ShutdownTimeout = sb.Value.Http.ShutdownTimeout);

        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<SwitchboardDiagnostics>();
        services.TryAddSingleton<ReadinessState>();
        services.AddHostedService<ShutdownReadiness>();
        services.AddHostedService<IdleHeapCompactor>();

        // Storage: the embedded default.
        services.TryAddSingleton<SqliteDatabase>();
        services.AddHostedService<StorageInitializer>();

        // Plugins and the catalog.
        services.TryAddSingleton<ToolCatalog>();
        services.TryAddSingleton<PluginCatalogLoader>();
        services.AddHostedService(sp => sp.GetRequiredService<PluginCatalogLoader>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPluginSource, InProcessPluginSource>());

        // The message pipeline: stages are a list, composed once.
        services.TryAddSingleton<OverrunningToolCalls>();
        services.TryAddSingleton<PluginInvocationHandler>();
        services.TryAddSingleton<GatewayPipeline>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<GatewayStage, TelemetryStage>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<GatewayStage, ToolResolutionStage>());
        services.AddOptions<CallLimitOptions>().BindConfiguration(CallLimitOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CallLimitOptions>, CallLimitOptionsValidator>());
        services.TryAddSingleton<CallLimiter>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<GatewayStage, RateLimitStage>());

        // MCP: the SDK server with the gateway's handlers; each transport adds how it is reached.
        services.TryAddSingleton<McpToolHandlers>();
        services.TryAddSingleton<McpSessionRegistry>();
        services.TryAddSingleton<DetachedMcpServer>();
        services.AddHostedService<ToolListChangedBroadcaster>();
        services.AddMcpServer();
        services.AddTransient<IConfigureOptions<McpServerOptions>, McpServerOptionsSetup>();

        AddTelemetry(services, section.GetSection("Telemetry").Get<TelemetryOptions>() ?? new TelemetryOptions());
        return new SwitchboardBuilder(services).AddSecurity().AddCompliance().AddConversations();
    }

    /// <summary>
    /// Adds the Streamable HTTP transport: MCP at <c>/mcp</c> for both eras (2026-07-28 served statelessly, 2025-11-25
    /// with <c>initialize</c> and sessions), Kestrel limits, and the Host/Origin allowlists.
    /// </summary>
    public static ISwitchboardBuilder AddStreamableHttpTransport(this ISwitchboardBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.TryAddSingleton(new McpTransportResolver(GatewayTransport.StreamableHttp));
        services.TryAddSingleton<EndpointAllowlist>();
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<SwitchboardOptions>>((kestrel, sb) =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = sb.Value.Http.MaxRequestBodyBytes;
        });
        services.AddMcpServer().WithHttpTransport(http =>
        {
            http.SessionMode = HttpServerSessionMode.StatefulForInitializeClients;

            // Track 2025-11-25 sessions so catalog changes reach them as list_changed notifications. Stateless
            // (2026-07-28) requests have no session to notify; they use subscriptions/listen instead.
            http.RunSessionHandler = static async (context, server, cancellationToken) =>
            {
                using var registration = server.SessionId is null
                    ? null
                    : context.RequestServices.GetRequiredService<McpSessionRegistry>().Track(server);
                await server.RunAsync(cancellationToken);
            };
        });
        return builder;
    }

    /// <summary>Adds an in-process plugin.</summary>
    public static ISwitchboardBuilder AddPlugin(this ISwitchboardBuilder builder, PluginDescriptor plugin)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(plugin);
        builder.Services.AddSingleton(plugin);
        return builder;
    }

    /// <summary>Adds an in-process plugin whose tools are the <see cref="McpServerToolAttribute"/> methods of <typeparamref name="TTools"/>.</summary>
    public static ISwitchboardBuilder AddPlugin<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors | DynamicallyAccessedMemberTypes.PublicMethods | DynamicallyAccessedMemberTypes.NonPublicMethods)] TTools>(
        this ISwitchboardBuilder builder,
        string name,
        string version,
        string? description = null,
        TimeSpan? defaultToolTimeout = null,
        ToolExecution execution = ToolExecution.ThreadPool)
        => builder.AddPlugin(PluginDescriptor.FromType<TTools>(name, version, description, defaultToolTimeout, execution: execution));

    /// <summary>
    /// Adds the sample plugins served by default: <c>clock</c> and <c>text</c>, and the conversation samples <c>orders</c>
    /// (a refund workflow) and <c>support</c> (shares the case keys with <c>orders</c>). Their tools compute in memory
    /// and never block, so they run inline.
    /// </summary>
    public static ISwitchboardBuilder AddSamplePlugins(this ISwitchboardBuilder builder)
        => builder
            .AddPlugin<ClockTools>(ClockTools.PluginName, ClockTools.PluginVersion, "Current time and time-zone conversion.", execution: ToolExecution.Inline)
            .AddPlugin<TextTools>(TextTools.PluginName, TextTools.PluginVersion, "Echo and word count.", execution: ToolExecution.Inline)
            .AddPlugin<OrdersTools>(OrdersTools.PluginName, OrdersTools.PluginVersion, "Sample refund workflow kept in the conversation.", execution: ToolExecution.Inline)
            .AddConversation(OrdersTools.Conversation)
            .AddPlugin<SupportTools>(SupportTools.PluginName, SupportTools.PluginVersion, "Sample support case shared with orders.", execution: ToolExecution.Inline)
            .AddConversation(SupportTools.Conversation);

    /// <summary>Adds a pipeline stage. Its <see cref="GatewayStage.Order"/> decides where it runs.</summary>
    public static ISwitchboardBuilder AddStage<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TStage>(this ISwitchboardBuilder builder)
        where TStage : GatewayStage
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<GatewayStage, TStage>());
        return builder;
    }

    private static void AddTelemetry(IServiceCollection services, TelemetryOptions telemetry)
    {
        var otel = services.AddOpenTelemetry();
        otel.WithMetrics(metrics =>
        {
            metrics.AddMeter(SwitchboardDiagnostics.MeterName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel");
            metrics.AddView(static instrument => MetricCardinality.LimitOf(instrument) is { } limit ? new MetricStreamConfiguration { CardinalityLimit = limit } : null);
            // No scrape cache: every scrape sees the counters as they are (scrapes are rare and cheap).
            metrics.AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0);
            if (!string.IsNullOrWhiteSpace(telemetry.OtlpEndpoint))
            {
                metrics.AddOtlpExporter(o => o.Endpoint = new Uri(telemetry.OtlpEndpoint));
            }
        });

        // Spans cost something only when listened to; without an exporter no tracer provider is added.
        if (!string.IsNullOrWhiteSpace(telemetry.OtlpEndpoint))
        {
            otel.WithTracing(tracing => tracing
                .AddSource(SwitchboardDiagnostics.SourceName)
                .AddOtlpExporter(o => o.Endpoint = new Uri(telemetry.OtlpEndpoint)));
        }
    }
}
