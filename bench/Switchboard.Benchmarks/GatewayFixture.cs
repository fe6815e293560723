using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Hosting;
using Switchboard.Pipeline;
using Switchboard.Plugins;
using Switchboard.Transports.Mcp;

namespace Switchboard.Benchmarks;

/// <summary>
/// The gateway core as <c>switchboard serve</c> registers it (options, catalog, pipeline with its real stages, the
/// sample plugins) in a generic host that is built but not started: only the catalog is loaded, and benchmarks call
/// the pipeline directly, without a web server.
/// </summary>
public sealed class GatewayFixture : IAsyncDisposable
{
    private readonly IHost _host;

    private GatewayFixture(IHost host) => _host = host;

    public static async Task<GatewayFixture> CreateAsync(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Switchboard:DataDirectory"] = Path.Combine(Path.GetTempPath(), "switchboard-benchmarks"),
        });
        builder.Configuration.AddInMemoryCollection(settings ?? new Dictionary<string, string?>());
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSwitchboard(builder.Configuration).AddSamplePlugins();

        // What a transport registers: calls here are attributed to REST (the in-process tool runs in the detached server).
        builder.Services.AddSingleton(new McpTransportResolver(GatewayTransport.Rest));
        var host = builder.Build();
        await host.Services.GetRequiredService<PluginCatalogLoader>().StartAsync(CancellationToken.None);
        return new GatewayFixture(host);
    }

    public T Get<T>()
        where T : notnull => _host.Services.GetRequiredService<T>();

    public static ILogger<T> Logger<T>() => NullLogger<T>.Instance;

    public ValueTask DisposeAsync()
    {
        _host.Dispose();
        return ValueTask.CompletedTask;
    }
}
