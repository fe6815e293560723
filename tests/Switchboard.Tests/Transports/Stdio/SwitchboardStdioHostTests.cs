using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ModelContextProtocol.Protocol;
using Switchboard.Hosting;
using Switchboard.Pipeline;
using Switchboard.Tests.TestSupport;
using Switchboard.Transports.Mcp;
using Switchboard.Transports.Stdio;

namespace Switchboard.Tests.Transports.Stdio;

/// <summary>How the stdio host is put together, checked without starting it (starting would read this process's stdin).</summary>
public sealed class SwitchboardStdioHostTests
{
    [Fact]
    public async Task Build_RequestsWithoutATransportOfTheirOwn_AreTaggedStdio()
    {
        using var data = new TemporaryDirectory();
        await using var host = (IAsyncDisposable)SwitchboardStdioHost.Build(new ServeSettings { DataDirectory = data.Path });

        var resolver = ((IHost)host).Services.GetRequiredService<McpTransportResolver>();

        Assert.Equal(GatewayTransport.Stdio, resolver.Resolve(new JsonRpcRequest { Method = RequestMethods.ToolsCall }));
    }

    [Fact]
    public async Task Build_HasNoWebServerOrBanner_AndStartsTheSessionAfterEverythingElse()
    {
        using var data = new TemporaryDirectory();
        await using var host = (IAsyncDisposable)SwitchboardStdioHost.Build(
            new ServeSettings { DataDirectory = data.Path },
            b => b.Services.AddHostedService<EmbeddingHostService>());
        var services = ((IHost)host).Services;

        var hostedServices = services.GetServices<IHostedService>().ToList();

        Assert.Null(services.GetService<IServer>());
        Assert.DoesNotContain(hostedServices, s => s is StartupBanner);
        Assert.Contains(hostedServices, s => s is EmbeddingHostService);
        Assert.IsType<StdioSession>(hostedServices[^1]);
        Assert.Single(hostedServices, s => s is StdioSession);
    }

    private sealed class EmbeddingHostService : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
