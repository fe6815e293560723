using System.IO.Pipelines;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Switchboard.Hosting;
using Switchboard.Plugins;
using Switchboard.Tests.TestSupport;
using Switchboard.Transports.Stdio;

namespace Switchboard.Tests.Transports.Stdio;

/// <summary>
/// The stdio host run inside the test process on pipes instead of the console, so the test can change the plugin
/// catalog while a client is connected: a 2025-11-25 stdio session hears of it as <c>notifications/tools/list_changed</c>.
/// </summary>
public sealed class StdioListChangedTests
{
    [Fact]
    public async Task LegacySession_GetsListChanged_AndSeesTheNewTool_ThenTheHostStopsWhenTheClientLeaves()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        using var data = new TemporaryDirectory();
        var source = new MutablePluginSource();
        var toServer = new Pipe();
        var toClient = new Pipe();
        var host = SwitchboardStdioHost.Build(
            new ServeSettings
            {
                DataDirectory = data.Path,
                ConfigurationOverrides = new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Warning" },
            },
            b => b.Services
                .AddSingleton<IPluginSource>(source)
                .AddSingleton(new StdioStreams(toServer.Reader.AsStream(), toClient.Writer.AsStream())));
        await host.StartAsync(cancellationToken);
        try
        {
            var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(() => stopping.TrySetResult());
            var changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var transport = new StreamClientTransport(toServer.Writer.AsStream(), toClient.Reader.AsStream());
            await using (var client = await McpClient.CreateAsync(transport, new McpClientOptions { ProtocolVersion = "2025-11-25" }, cancellationToken: cancellationToken))
            {
                await using var registration = client.RegisterNotificationHandler(NotificationMethods.ToolListChangedNotification, (_, _) =>
                {
                    changed.TrySetResult();
                    return ValueTask.CompletedTask;
                });
                Assert.DoesNotContain("extra_added", (await client.ListToolsAsync(cancellationToken: cancellationToken)).Select(t => t.Name));

                source.Set(TestPlugins.Plugin("extra", "added"));
                await host.Services.GetRequiredService<PluginCatalogLoader>().ReloadAsync(cancellationToken);

                await changed.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
                Assert.Contains("extra_added", (await client.ListToolsAsync(cancellationToken: cancellationToken)).Select(t => t.Name));
            }

            // The client closes the server's input, as a stdio client does (the SDK's stream client leaves that to its
            // owner): the session ends and stops the host by itself.
            await toServer.Writer.CompleteAsync();
            await stopping.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
            await ((IAsyncDisposable)host).DisposeAsync();
        }
    }
}
