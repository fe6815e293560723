using System.Diagnostics.Metrics;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Diagnostics;
using Switchboard.Hosting;
using Switchboard.Plugins;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Plugins;

/// <summary>A tool that overruns its configured timeout, end to end over HTTP.</summary>
public sealed class ToolTimeoutIntegrationTests
{
    /// <summary>A server with the probe plugin reporting into <paramref name="state"/>.</summary>
    private static Task<SwitchboardTestServer> StartProbeServerAsync(ProbeState state, Dictionary<string, string?> configuration)
        => SwitchboardTestServer.StartAsync(
            configure: b =>
            {
                b.Services.AddSingleton(state);
                b.AddPlugin<ProbeTools>(ProbeTools.PluginName, "1.0.0");
            },
            configuration: configuration,
            cancellationToken: TestContext.Current.CancellationToken);

    [Fact]
    public async Task OverrunningTool_GetsTimeoutErrorAndItsWorkIsCancelled()
    {
        var state = new ProbeState();
        await using var server = await StartProbeServerAsync(state, new() { ["Switchboard:Plugins:probe:Tools:wait:Timeout"] = "00:00:00.200" });
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
        await using var server = await StartProbeServerAsync(new ProbeState(), new() { ["Switchboard:Plugins:probe:Tools:wait:Timeout"] = "00:00:00.100" });
        using var http = server.CreateHttpClient();

        var response = await McpHttp.SendAsync(
            http,
            McpHttp.ModernRequest(server.McpUri, "tools/call", new JsonObject { ["name"] = "probe_add", ["arguments"] = new JsonObject { ["a"] = 40, ["b"] = 2 } }),
            TestContext.Current.CancellationToken);

        Assert.Equal("42", response.Result["content"]![0]!["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task ToolsThatBlockTheirThread_AreAnsweredAtTheirTimeout_AndBoundedPerPlugin()
    {
        var state = new ProbeState();
        await using var server = await StartProbeServerAsync(state, new()
        {
            ["Switchboard:Plugins:probe:Tools:block:Timeout"] = "00:00:00.200",
            ["Switchboard:Plugins:probe:MaxOverrunningCalls"] = "2",
        });
        using var http = server.CreateHttpClient();
        var ct = TestContext.Current.CancellationToken;

        // The gauge is read from this server's own instrument: every test server in this process has a meter named
        // "Switchboard", and the Prometheus exporter of one can drop a stream when another server's meter is disposed.
        var gauge = server.GetRequiredService<SwitchboardDiagnostics>().OverrunningToolCalls;
        long overrunning = 0;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument, gauge))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag is { Key: "tool", Value: "probe_block" })
                {
                    Interlocked.Add(ref overrunning, value);
                }
            }
        });
        listener.Start();
        Task<McpHttpResponse> Call(string tool, JsonObject arguments)
            => McpHttp.SendAsync(http, McpHttp.ModernRequest(server.McpUri, "tools/call", new JsonObject { ["name"] = tool, ["arguments"] = arguments }), ct);

        try
        {
            for (var i = 1; i <= 2; i++)
            {
                var timedOut = await Call("probe_block", []);
                Assert.True(timedOut.Result["isError"]!.GetValue<bool>());
                Assert.Contains("timed out after 200 ms", timedOut.Result["content"]![0]!["text"]!.GetValue<string>(), StringComparison.Ordinal);
                Assert.Equal(i, Volatile.Read(ref state.BlockedCount));
            }

            Assert.Equal(2, Interlocked.Read(ref overrunning));
            Assert.Equal(2, server.GetRequiredService<OverrunningToolCalls>().CountFor("probe"));

            // The bound covers the whole plugin: its other tools refuse too, without running.
            var refused = await Call("probe_add", new JsonObject { ["a"] = 40, ["b"] = 2 });
            Assert.True(refused.Result["isError"]!.GetValue<bool>());
            Assert.Contains(
                "2 earlier calls to plugin 'probe' are still running after their timeout or cancellation",
                refused.Result["content"]![0]!["text"]!.GetValue<string>(),
                StringComparison.Ordinal);
        }
        finally
        {
            state.BlockRelease.Set();
        }

        await Eventually.TrueAsync(() => Volatile.Read(ref state.BlockedCount) == 0, "the blocked tools to end once released");
        var answered = await Eventually.ValueAsync(
            () => Call("probe_add", new JsonObject { ["a"] = 40, ["b"] = 2 }),
            r => r.Result["isError"] is null,
            "the plugin to take calls again once its overrunning calls ended");
        Assert.Equal("42", answered.Result["content"]![0]!["text"]!.GetValue<string>());

        // The plugin takes calls again as soon as one overrunning call ended; the other may end a moment later.
        await Eventually.TrueAsync(() => Interlocked.Read(ref overrunning) == 0, "the overrunning-calls gauge to return to 0");
        Assert.Equal(0, server.GetRequiredService<OverrunningToolCalls>().CountFor("probe"));
    }
}
