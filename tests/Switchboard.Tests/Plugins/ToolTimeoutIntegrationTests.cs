using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Hosting;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Plugins;

/// <summary>A tool that overruns its configured timeout, end to end over HTTP.</summary>
public sealed class ToolTimeoutIntegrationTests
{
    [Fact]
    public async Task OverrunningTool_GetsTimeoutErrorAndItsWorkIsCancelled()
    {
        var state = new ProbeState();
        await using var server = await SwitchboardTestServer.StartAsync(
            configure: b =>
            {
                b.Services.AddSingleton(state);
                b.AddPlugin<ProbeTools>(ProbeTools.PluginName, "1.0.0");
            },
            configuration: new Dictionary<string, string?> { ["Switchboard:Plugins:probe:Tools:wait:Timeout"] = "00:00:00.200" },
            cancellationToken: TestContext.Current.CancellationToken);
        using var http = server.CreateHttpClient();

        var response = await McpHttp.SendAsync(
            http,
            McpHttp.ModernRequest(server.McpUri, "tools/call", new JsonObject { ["name"] = "probe_wait", ["arguments"] = new JsonObject() }),
            TestContext.Current.CancellationToken);

        Assert.True(response.Result["isError"]!.GetValue<bool>());
        var text = response.Result["content"]![0]!["text"]!.GetValue<string>();
        Assert.Contains("timed out after 200 ms", text, StringComparison.Ordinal);
        Assert.True(state.Started.Task.IsCompleted);
        await state.Cancelled.Task.WaitAsync(TestContext.Current.CancellationToken);

        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative), TestContext.Current.CancellationToken);
        Assert.Contains("outcome=\"timeout\",plugin=\"probe\",tool=\"probe_wait\"", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OtherToolsOfTheSamePlugin_KeepTheirOwnTimeout()
    {
        await using var server = await SwitchboardTestServer.StartAsync(
            configure: b =>
            {
                b.Services.AddSingleton(new ProbeState());
                b.AddPlugin<ProbeTools>(ProbeTools.PluginName, "1.0.0");
            },
            configuration: new Dictionary<string, string?> { ["Switchboard:Plugins:probe:Tools:wait:Timeout"] = "00:00:00.100" },
            cancellationToken: TestContext.Current.CancellationToken);
        using var http = server.CreateHttpClient();

        var response = await McpHttp.SendAsync(
            http,
            McpHttp.ModernRequest(server.McpUri, "tools/call", new JsonObject { ["name"] = "probe_add", ["arguments"] = new JsonObject { ["a"] = 40, ["b"] = 2 } }),
            TestContext.Current.CancellationToken);

        Assert.Equal("42", response.Result["content"]![0]!["text"]!.GetValue<string>());
    }
}
