using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Switchboard.Hosting;
using Switchboard.Transports.Mcp;

namespace Switchboard.Plugins.Conformance;

public static class ConformanceFixtureExtensions
{
    /// <summary>The plugin that carries the conformance tools.</summary>
    public const string PluginName = "conformance";

    /// <summary>
    /// Adds the MCP conformance-suite fixtures (enabled only by <c>serve --conformance-fixtures</c>): the tools as
    /// in-process plugins with their exact names (no prefix), and the resources, prompts, completion and resource
    /// subscriptions on the SDK server. Also keeps SSE events of 2025-11-25 sessions in memory so a client can resume a
    /// closed stream (the SSE polling scenario). A normal <c>serve</c> has none of this.
    /// </summary>
    public static ISwitchboardBuilder AddConformanceFixtures(this ISwitchboardBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);

        var tools = PluginDescriptor.FromType<ConformanceTools>(PluginName, "1.0.0");
        var inputRequired = PluginDescriptor.FromType<ConformanceInputRequiredTools>(PluginName, "1.0.0");
        var listChange = PluginDescriptor.FromType<ConformanceListChangeTools>(PluginName, "1.0.0");
        builder.AddPlugin(new PluginDescriptor
        {
            Name = PluginName,
            Version = "1.0.0",
            Description = "Fixtures of the official MCP conformance suite; for testing only.",
            ToolNamePrefix = string.Empty,
            Source = "conformance fixtures (serve --conformance-fixtures)",
            CreateTools = services =>
                [.. tools.CreateTools(services), .. inputRequired.CreateTools(services), .. listChange.CreateTools(services), new JsonSchema202012Tool()],
        });

        // test_dynamic_tool comes and goes with test_trigger_tool_change, through a catalog reload of its own source.
        builder.Services.TryAddSingleton<ConformanceDynamicToolState>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IPluginSource, ConformanceDynamicToolSource>());

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IMcpServerOptionsContributor, ConformanceServerOptions>());

        // Resumability is a 2025-11-25 session feature the SDK marks obsolete (MCP9006); the fixtures need it only for
        // the SSE polling scenario, so an in-memory cache private to the store is enough.
#pragma warning disable MCP9006
        builder.Services.TryAddSingleton<ISseEventStreamStore>(sp => CreateEventStreamStore(sp.GetRequiredService<ILoggerFactory>()));
        return builder;
    }

    private static DistributedCacheEventStreamStore CreateEventStreamStore(ILoggerFactory loggerFactory)
        => new(
            Options.Create(new DistributedCacheEventStreamStoreOptions
            {
                Cache = new MemoryDistributedCache(Options.Create(new MemoryDistributedCacheOptions())),
            }),
            loggerFactory.CreateLogger<DistributedCacheEventStreamStore>());
#pragma warning restore MCP9006
}

/// <summary>Wires the fixture resources, prompts and completion into every SDK server the gateway runs.</summary>
internal sealed class ConformanceServerOptions : IMcpServerOptionsContributor
{
    public void Configure(McpServerOptions options)
    {
        options.Capabilities ??= new ServerCapabilities();
        options.Capabilities.Resources = new ResourcesCapability { Subscribe = true };
        options.Capabilities.Prompts = new PromptsCapability();
        options.Capabilities.Completions = new CompletionsCapability();

        var handlers = options.Handlers;
        handlers.ListResourcesHandler = ConformanceResources.ListAsync;
        handlers.ListResourceTemplatesHandler = ConformanceResources.ListTemplatesAsync;
        handlers.ReadResourceHandler = ConformanceResources.ReadAsync;
        handlers.SubscribeToResourcesHandler = ConformanceResources.SubscribeAsync;
        handlers.UnsubscribeFromResourcesHandler = ConformanceResources.UnsubscribeAsync;
        handlers.ListPromptsHandler = ConformancePrompts.ListAsync;
        handlers.GetPromptHandler = ConformancePrompts.GetAsync;
        handlers.CompleteHandler = CompleteAsync;
        options.Filters.Request.CallToolFilters.Add(CloseStreamAfterReconnectionTool);
    }

    /// <summary>
    /// For <c>test_reconnection</c> on a 2025-11-25 session, closes the response stream (telling the client to poll)
    /// after the result exists but before it is sent: the result then waits in the event stream store until the client
    /// resumes. Closing earlier could leave a client that resumes at once with nothing to replay.
    /// </summary>
    private static McpRequestHandler<CallToolRequestParams, CallToolResult> CloseStreamAfterReconnectionTool(McpRequestHandler<CallToolRequestParams, CallToolResult> next)
        => async (request, cancellationToken) =>
        {
            var result = await next(request, cancellationToken);
            if (request.Params?.Name == "test_reconnection" && !ProtocolEra.IsModern(request))
            {
                try
                {
                    await request.EnablePollingAsync(TimeSpan.FromMilliseconds(500), cancellationToken);
                }
                catch (InvalidOperationException)
                {
                    // Not a stateful Streamable HTTP request (stdio, WebSocket): the result simply goes back as usual.
                }
            }

            return result;
        };

    private static ValueTask<CompleteResult> CompleteAsync(RequestContext<CompleteRequestParams> request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var parameters = request.Params;
        var candidates = parameters?.Ref switch
        {
            PromptReference prompt => ConformancePrompts.CompleteArgument(prompt.Name, parameters.Argument.Name),
            ResourceTemplateReference template => ConformanceResources.CompleteTemplateArgument(template.Uri, parameters.Argument.Name),
            _ => [],
        };

        var typed = parameters?.Argument.Value ?? string.Empty;
        var values = candidates.Where(v => v.StartsWith(typed, StringComparison.OrdinalIgnoreCase)).ToList();
        return ValueTask.FromResult(new CompleteResult { Completion = new Completion { Values = values, Total = values.Count, HasMore = false } });
    }
}
