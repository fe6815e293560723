using System.Net;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Hosting;
using Switchboard.Plugins;
using Switchboard.Tests.TestSupport;
using Switchboard.Transports.WebSockets;

namespace Switchboard.Tests.Transports.WebSockets;

/// <summary>MCP over WebSocket at /ws on real Kestrel: lifecycle, concurrency, backpressure, errors, push, close.</summary>
public sealed class WebSocketTransportTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static Task<SwitchboardTestServer> StartAsync(ProbeState? state = null, Dictionary<string, string?>? configuration = null, MutablePluginSource? source = null)
        => SwitchboardTestServer.StartAsync(
            configure: b =>
            {
                b.Services.AddSingleton(state ?? new ProbeState());
                b.AddPlugin<ProbeTools>(ProbeTools.PluginName, "1.0.0");
                if (source is not null)
                {
                    b.Services.AddSingleton<IPluginSource>(source);
                }
            },
            configuration: configuration,
            cancellationToken: Token);

    private static JsonObject Echo(object id, string text, JsonObject? meta = null) => McpWebSocket.Call(id, "text_echo", new JsonObject { ["text"] = text }, meta);

    private static JsonObject ModernMeta() => McpHttp.ModernMeta();

    [Fact]
    public async Task TypeScriptSdkV1Client_InitializesListsCalls_And50ConcurrentCallsAreMatched()
    {
        NodeTooling.Require("@modelcontextprotocol/sdk/package.json");
        await using var server = await StartAsync();

        var result = await ProcessRunner.RunNodeAsync(["clients/ts-sdk-v1-ws.mjs", McpWebSocket.EndpointOf(server.BaseUri).ToString(), "héllo 世界 👋", "50"], cancellationToken: Token);

        Assert.True(result.ExitCode == 0, result.Combined);
        var report = JsonNode.Parse(result.StandardOutput.Trim().Split('\n').Last())!.AsObject();
        Assert.Contains("text_echo", report["tools"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Equal("héllo 世界 👋", report["echo"]![0]!.GetValue<string>());
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"call-{i}"), report["concurrent"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Equal(0, report["concurrentErrors"]!.GetValue<int>());
    }

    [Fact]
    public async Task Upgrade_NegotiatesTheMcpSubprotocol_AndServesModernRequestsWithoutInitialize()
    {
        await using var server = await StartAsync();
        await using var socket = await McpWebSocket.ConnectAsync(server.BaseUri, Token);

        Assert.Equal("mcp", socket.SubProtocol);
        await socket.SendAsync(Echo(1, "modern", ModernMeta()), Token);
        var (response, _) = await socket.ReceiveResponseAsync(1, Token);

        Assert.Equal("modern", response["result"]!["content"]![0]!["text"]!.GetValue<string>());
        Assert.Equal("complete", response["result"]!["resultType"]!.GetValue<string>());
    }

    [Fact]
    public async Task EachCallOnAConnection_IsItsOwnTrace_NotAChildOfTheUpgradeRequest()
    {
        // Tracing on (the exporter's endpoint need not answer): spans are created and audit records carry their trace id.
        await using var server = await StartAsync(configuration: new() { ["Switchboard:Telemetry:OtlpEndpoint"] = "http://127.0.0.1:9/v1/traces" });
        await using var socket = await McpWebSocket.ConnectAsync(server.BaseUri, Token);

        var traceIds = new List<string>();
        for (var id = 1; id <= 3; id++)
        {
            await socket.SendAsync(Echo(id, "trace " + id, ModernMeta()), Token);
            var (response, _) = await socket.ReceiveResponseAsync(id, Token);
            var sequence = response["result"]!["_meta"]![Switchboard.Compliance.Audit.AuditStage.MetaKey]!.GetValue<long>();
            var log = server.GetRequiredService<Switchboard.Compliance.Audit.AuditLog>();
            await using var connection = await log.Store.OpenAsync(create: false, TimeSpan.FromSeconds(5), Token);
            var record = JsonNode.Parse((await Switchboard.Compliance.Audit.AuditStore.ReadRecordAsync(connection, sequence, Token))!.Record)!;
            traceIds.Add(record["traceId"]!.GetValue<string>());
        }

        Assert.All(traceIds, t => Assert.Matches("^[0-9a-f]{32}$", t));
        Assert.Equal(3, traceIds.Distinct().Count());
    }

    [Fact]
    public async Task LegacyLifecycle_InitializeThenListAndCall()
    {
        await using var server = await StartAsync();
        await using var socket = await McpWebSocket.ConnectAsync(server.BaseUri, Token);

        await socket.InitializeAsync(Token);
        await socket.SendAsync(new JsonObject { ["jsonrpc"] = "2.0", ["id"] = 2, ["method"] = "tools/list" }, Token);
        var (list, _) = await socket.ReceiveResponseAsync(2, Token);

        Assert.Contains("probe_gate", list["result"]!["tools"]!.AsArray().Select(t => t!["name"]!.GetValue<string>()));
    }

    [Theory]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":7,", -32700, null)]
    [InlineData("not json", -32700, null)]
    [InlineData("{\"id\":8,\"method\":\"tools/list\"}", -32600, 8)]
    [InlineData("[{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"ping\"}]", -32600, null)]
    [InlineData("{\"jsonrpc\":\"1.0\",\"id\":\"x\",\"method\":\"ping\"}", -32600, "x")]
    public async Task MalformedMessage_GetsAJsonRpcError_AndTheConnectionStaysOpen(string frame, int code, object? id)
    {
        await using var server = await StartAsync();
        await using var socket = await McpWebSocket.ConnectAsync(server.BaseUri, Token);

        await socket.SendTextAsync(frame, Token);
        var error = await socket.ReceiveAsync(Token);

        Assert.Equal(code, error!["error"]!["code"]!.GetValue<int>());
        Assert.Equal(id is null ? "null" : JsonValue.Create(id)!.ToJsonString(), error["id"]?.ToJsonString() ?? "null");

        await socket.SendAsync(Echo(10, "still open", ModernMeta()), Token);
        var (response, _) = await socket.ReceiveResponseAsync(10, Token);
        Assert.Equal("still open", response["result"]!["content"]![0]!["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task BinaryFrame_GetsAnError_AndTheConnectionStaysOpen()
    {
        await using var server = await StartAsync();
        await using var socket = await McpWebSocket.ConnectAsync(server.BaseUri, Token);

        await socket.SendBinaryAsync([1, 2, 3], Token);
        Assert.Equal(-32600, (await socket.ReceiveAsync(Token))!["error"]!["code"]!.GetValue<int>());
        await socket.SendAsync(Echo(1, "ok", ModernMeta()), Token);
        Assert.NotNull((await socket.ReceiveResponseAsync(1, Token)).Response["result"]);
    }

    [Fact]
    public async Task OversizedMessage_ClosesWithMessageTooBig()
    {
        await using var server = await StartAsync(configuration: new() { ["Switchboard:WebSockets:MaxMessageBytes"] = "4096" });
        await using var socket = await McpWebSocket.ConnectAsync(server.BaseUri, Token);

        await socket.SendAsync(Echo(1, new string('x', 10_000), ModernMeta()), Token);
        var error = await socket.ReceiveAsync(Token);
        var end = await socket.ReceiveAsync(Token);

        Assert.Equal(-32600, error!["error"]!["code"]!.GetValue<int>());
        Assert.Null(end);
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, socket.CloseStatus);
    }

    [Fact]
    public async Task InFlightLimit_StopsReadingUntilAnswersLeave()
    {
        var state = new ProbeState();
        await using var server = await StartAsync(state, new() { ["Switchboard:WebSockets:MaxInFlightPerConnection"] = "2" });
        await using var socket = await McpWebSocket.ConnectAsync(server.BaseUri, Token);

        for (var i = 0; i < 5; i++)
        {
            await socket.SendAsync(McpWebSocket.Call(i, "probe_gate", new JsonObject { ["tag"] = $"t{i}" }, ModernMeta()), Token);
        }

        // Two calls run (the limit); each answer frees one slot, so exactly one more call starts after it.
        await state.GateStarted.WaitAsync(Token);
        await state.GateStarted.WaitAsync(Token);
        var answers = new Dictionary<int, string>();
        for (var released = 0; released < 5; released++)
        {
            state.Gate.Release();
            var message = await socket.ReceiveAsync(Token);
            answers[message!["id"]!.GetValue<int>()] = message["result"]!["content"]![0]!["text"]!.GetValue<string>();
            if (released < 3)
            {
                await state.GateStarted.WaitAsync(Token);
            }
        }

        Assert.Equal(5, answers.Count);
        Assert.All(answers, a => Assert.Equal($"passed t{a.Key}", a.Value));
        Assert.Equal(2, state.GateMaxRunning);
    }

    [Fact]
    public async Task Answers_LeaveAsTheyFinish_NotInRequestOrder()
    {
        var state = new ProbeState();
        await using var server = await StartAsync(state);
        await using var socket = await McpWebSocket.ConnectAsync(server.BaseUri, Token);

        await socket.SendAsync(McpWebSocket.Call("slow", "probe_gate", new JsonObject { ["tag"] = "slow" }, ModernMeta()), Token);
        await state.GateStarted.WaitAsync(Token);
        await socket.SendAsync(Echo("fast", "fast", ModernMeta()), Token);

        Assert.Equal("fast", (await socket.ReceiveAsync(Token))!["id"]!.GetValue<string>());
        state.Gate.Release();
        Assert.Equal("slow", (await socket.ReceiveAsync(Token))!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task DuplicateIdInFlight_IsRefused()
    {
        var state = new ProbeState();
        await using var server = await StartAsync(state);
        await using var socket = await McpWebSocket.ConnectAsync(server.BaseUri, Token);

        await socket.SendAsync(McpWebSocket.Call(1, "probe_gate", new JsonObject { ["tag"] = "a" }, ModernMeta()), Token);
        await state.GateStarted.WaitAsync(Token);
        await socket.SendAsync(McpWebSocket.Call(1, "probe_gate", new JsonObject { ["tag"] = "b" }, ModernMeta()), Token);

        var refusal = await socket.ReceiveAsync(Token);
        Assert.Equal(-32600, refusal!["error"]!["code"]!.GetValue<int>());
        state.Gate.Release();
        Assert.Equal("passed a", (await socket.ReceiveAsync(Token))!["result"]!["content"]![0]!["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task CancelledRequests_GiveTheirInFlightSlotsBack()
    {
        // A request the client cancels is never answered (MCP: no response to a cancelled request), so its slot must be
        // freed by the cancellation itself. With two slots, the third call would never be read if cancelled ones kept theirs.
        var state = new ProbeState();
        await using var server = await StartAsync(state, configuration: new() { ["Switchboard:WebSockets:MaxInFlightPerConnection"] = "2" });
        await using var socket = await McpWebSocket.ConnectAsync(server.BaseUri, Token);

        for (var i = 1; i <= 4; i++)
        {
            await socket.SendAsync(McpWebSocket.Call("g" + i, "probe_gate", new JsonObject { ["tag"] = "t" + i }, ModernMeta()), Token);
            Assert.True(await state.GateStarted.WaitAsync(TimeSpan.FromSeconds(20), Token), $"call {i} was never read");
            await socket.SendAsync(new JsonObject { ["jsonrpc"] = "2.0", ["method"] = "notifications/cancelled", ["params"] = new JsonObject { ["requestId"] = "g" + i, ["_meta"] = ModernMeta() } }, Token);
        }

        await socket.SendAsync(Echo("after", "still reading", ModernMeta()), Token);
        var (answer, _) = await socket.ReceiveResponseAsync("after", Token);
        Assert.Equal("still reading", answer["result"]!["content"]![0]!["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task CancellingCallsToAToolThatIgnoresCancellation_StillFreesTheirSlots_WhileTheToolRunsOn()
    {
        // The pipeline stops waiting for a tool at the caller's cancellation (as at a timeout) even if the tool ignores its
        // token, so the SDK handler ends and the slot is rightly free; the tool itself finishes in the background.
        var stubborn = new StubbornTools.State();

        // Signalled by the pipeline's own call counter (the stubborn tool exists only in this test's server).
        var cancelledCalls = 0;
        var cancelledInPipeline = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var meters = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument is { Name: "switchboard.tool.calls", Meter.Name: Switchboard.Diagnostics.SwitchboardDiagnostics.MeterName })
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        meters.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? tool = null, outcome = null;
            foreach (var tag in tags)
            {
                tool = tag.Key == "tool" ? tag.Value as string : tool;
                outcome = tag.Key == "outcome" ? tag.Value as string : outcome;
            }

            if (tool == "stubborn_wait" && outcome == "cancelled" && Interlocked.Add(ref cancelledCalls, (int)value) == 2)
            {
                cancelledInPipeline.TrySetResult();
            }
        });
        meters.Start();
        await using var server = await SwitchboardTestServer.StartAsync(
            configure: b =>
            {
                b.Services.AddSingleton(stubborn);
                b.AddPlugin<StubbornTools>("stubborn", "1.0.0");
            },
            configuration: new Dictionary<string, string?> { ["Switchboard:WebSockets:MaxInFlightPerConnection"] = "2" },
            cancellationToken: Token);
        await using var socket = await McpWebSocket.ConnectAsync(server.BaseUri, Token);

        try
        {
            for (var i = 1; i <= 2; i++)
            {
                await socket.SendAsync(McpWebSocket.Call("s" + i, "stubborn_wait", new JsonObject(), ModernMeta()), Token);
                Assert.True(await stubborn.Started.WaitAsync(TimeSpan.FromSeconds(20), Token), $"call {i} was never read");
                await socket.SendAsync(new JsonObject { ["jsonrpc"] = "2.0", ["method"] = "notifications/cancelled", ["params"] = new JsonObject { ["requestId"] = "s" + i, ["_meta"] = ModernMeta() } }, Token);
            }

            await socket.SendAsync(Echo("after", "read while both still run", ModernMeta()), Token);
            var (answer, _) = await socket.ReceiveResponseAsync("after", Token);

            Assert.Equal("read while both still run", answer["result"]!["content"]![0]!["text"]!.GetValue<string>());

            // Both calls went through the pipeline to their end (counted as cancelled) while both tools still run.
            await cancelledInPipeline.Task.WaitAsync(TimeSpan.FromSeconds(20), Token);
            Assert.Equal(2, Volatile.Read(ref cancelledCalls));
            Assert.Equal(2, Volatile.Read(ref stubborn.Running));
        }
        finally
        {
            stubborn.Release.Release(2);
        }
    }

    [Fact]
    public async Task ProgressNotifications_ArriveOnTheConnectionBeforeTheAnswer()
    {
        await using var server = await StartAsync();
        await using var socket = await McpWebSocket.ConnectAsync(server.BaseUri, Token);
        await socket.InitializeAsync(Token);

        var meta = new JsonObject { ["progressToken"] = "p-1" };
        await socket.SendAsync(McpWebSocket.Call(5, "probe_progress", new JsonObject(), meta), Token);
        var (response, notifications) = await socket.ReceiveResponseAsync(5, Token);

        Assert.Equal("done", response["result"]!["content"]![0]!["text"]!.GetValue<string>());
        var progress = notifications.Where(n => n["method"]?.GetValue<string>() == "notifications/progress").ToList();
        Assert.Equal(3, progress.Count);
        Assert.All(progress, p => Assert.Equal("p-1", p["params"]!["progressToken"]!.GetValue<string>()));
        Assert.Equal([1.0, 2.0, 3.0], progress.Select(p => p["params"]!["progress"]!.GetValue<double>()));
    }

    [Fact]
    public async Task CatalogChange_IsPushedAsListChanged_ToInitializedConnectionsOnly()
    {
        var source = new MutablePluginSource();
        await using var server = await StartAsync(source: source);
        await using var legacy = await McpWebSocket.ConnectAsync(server.BaseUri, Token);
        await using var modern = await McpWebSocket.ConnectAsync(server.BaseUri, Token);
        await legacy.InitializeAsync(Token);
        await modern.SendAsync(Echo("m1", "warm up", ModernMeta()), Token);
        await modern.ReceiveResponseAsync("m1", Token);

        source.Set(TestPlugins.Plugin("extra", "added"));
        await server.GetRequiredService<PluginCatalogLoader>().ReloadAsync(Token);

        var pushed = await legacy.ReceiveAsync(Token);
        Assert.Equal("notifications/tools/list_changed", pushed!["method"]!.GetValue<string>());

        // The 2026-07-28 connection did not subscribe: the next thing it sees is the answer to its own request.
        await modern.SendAsync(Echo("m2", "after", ModernMeta()), Token);
        Assert.Equal("m2", (await modern.ReceiveAsync(Token))!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task DisallowedOrigin_IsRefusedAtUpgrade()
    {
        await using var server = await StartAsync();
        var ex = await Assert.ThrowsAsync<WebSocketException>(() => McpWebSocket.ConnectAsync(server.BaseUri, Token, origin: "http://evil.example.com"));
        Assert.Contains("403", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingSubprotocol_IsRefused_AndPlainGetIsTold426()
    {
        await using var server = await StartAsync();
        var ex = await Assert.ThrowsAsync<WebSocketException>(() => McpWebSocket.ConnectAsync(server.BaseUri, Token, subProtocol: null));
        Assert.Contains("400", ex.Message, StringComparison.Ordinal);

        using var http = server.CreateHttpClient();
        using var response = await http.GetAsync(new Uri("/ws", UriKind.Relative), Token);
        Assert.Equal(HttpStatusCode.UpgradeRequired, response.StatusCode);
    }

    [Fact]
    public async Task IdleConnection_IsClosedNormally()
    {
        // Long enough that a starved test machine still gets the initialize exchange in before the timer fires (the
        // timer starts when the socket is accepted).
        await using var server = await StartAsync(configuration: new() { ["Switchboard:WebSockets:IdleTimeout"] = "00:00:02" });
        await using var socket = await McpWebSocket.ConnectAsync(server.BaseUri, Token);
        await socket.InitializeAsync(Token);

        Assert.Null(await socket.ReceiveAsync(Token));
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
        Assert.Equal("idle timeout", socket.CloseStatusDescription);
    }

    [Fact]
    public async Task PeerThatNeverAnswersPings_IsDropped()
    {
        await using var server = await StartAsync(configuration: new()
        {
            ["Switchboard:WebSockets:KeepAliveInterval"] = "00:00:00.100",
            ["Switchboard:WebSockets:KeepAliveTimeout"] = "00:00:00.200",
        });
        var handler = server.GetRequiredService<WebSocketConnectionHandler>();

        // A client that never reads never answers the server's pings.
        // The connection can be open and dropped again within a few hundred milliseconds, faster than a loaded test
        // machine polls, so wait for "accepted once and open no more" rather than for the transient "open".
        await using var silent = await McpWebSocket.ConnectAsync(server.BaseUri, Token);
        await WaitUntilAsync(() => handler.AcceptedConnections == 1 && handler.OpenConnections == 0);
    }

    [Fact]
    public async Task Shutdown_FinishesInFlightCalls_RefusesNewOnes_ThenClosesGoingAway()
    {
        var state = new ProbeState();
        var server = await StartAsync(state);
        await using var socket = await McpWebSocket.ConnectAsync(server.BaseUri, Token);
        await socket.SendAsync(McpWebSocket.Call(1, "probe_gate", new JsonObject { ["tag"] = "in flight" }, ModernMeta()), Token);
        await state.GateStarted.WaitAsync(Token);

        var stopping = server.DisposeAsync().AsTask();
        await socket.SendAsync(Echo(2, "too late", ModernMeta()), Token);
        var refused = await socket.ReceiveAsync(Token);
        Assert.Equal(2, refused!["id"]!.GetValue<int>());
        Assert.Equal(-32000, refused["error"]!["code"]!.GetValue<int>());

        state.Gate.Release();
        var answer = await socket.ReceiveAsync(Token);
        Assert.Equal("passed in flight", answer!["result"]!["content"]![0]!["text"]!.GetValue<string>());
        Assert.Null(await socket.ReceiveAsync(Token));
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, socket.CloseStatus);
        await socket.CloseAsync(Token);
        await stopping.WaitAsync(Token);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Token);
        deadline.CancelAfter(TimeSpan.FromSeconds(30));
        while (!condition())
        {
            await Task.Yield();
            await Task.Delay(10, deadline.Token);
        }
    }
}

/// <summary>A tool that ignores its cancellation token and runs until the test releases it.</summary>
[ModelContextProtocol.Server.McpServerToolType]
public sealed class StubbornTools(StubbornTools.State state)
{
    [ModelContextProtocol.Server.McpServerTool(Name = "wait"), System.ComponentModel.Description("Waits for the test, whatever the caller does.")]
    public async Task<string> Wait()
    {
        Interlocked.Increment(ref state.Running);
        state.Started.Release();
        try
        {
            await state.Release.WaitAsync(CancellationToken.None);
            return "released";
        }
        finally
        {
            Interlocked.Decrement(ref state.Running);
        }
    }

    public sealed class State
    {
        public SemaphoreSlim Started { get; } = new(0);

        public SemaphoreSlim Release { get; } = new(0);

#pragma warning disable CA1051 // Interlocked needs a field.
        public int Running;
#pragma warning restore CA1051
    }
}
