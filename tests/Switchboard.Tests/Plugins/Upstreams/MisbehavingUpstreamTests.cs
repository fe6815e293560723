using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Switchboard.Tests.TestSupport;
using static Switchboard.Tests.Plugins.Upstreams.GatewayClient;

namespace Switchboard.Tests.Plugins.Upstreams;

/// <summary>
/// Supervision and isolation against a purpose-built misbehaving upstream (tests/interop/upstreams/misbehaving.mjs):
/// crashes, hangs, garbage on stdout, failed starts. Each test gets its own gateway, because each leaves the upstream
/// in a different state.
/// </summary>
public sealed class MisbehavingUpstreamTests
{
    private const string Prefix = "Switchboard:Upstreams:misbehaving:";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task CrashMidCall_CallerGetsAnIsErrorNamingTheUpstream_AndACallWorksAgainOnceRestarted()
    {
        UpstreamConfig.RequireNode();
        using var upstream = new MisbehavingUpstream();
        await using var server = await StartAsync(upstream.Configuration());
        await using var client = await ConnectAsync(RawModern, server.BaseUri);
        var firstPid = Pid(await client.CallAsync("misbehaving_pid", []));

        var crash = await client.CallAsync("misbehaving_crash", []);

        Assert.True(IsError(crash), crash.ToJsonString());
        Assert.Contains("Upstream server 'misbehaving' failed while running tool 'misbehaving_crash'", Text(crash), StringComparison.Ordinal);
        Assert.Contains("the process exited with code 17", Text(crash), StringComparison.Ordinal);
        var again = await Eventually.ValueAsync(() => client.CallAsync("misbehaving_pid", []), r => !IsError(r), "a successful call after the restart");
        Assert.NotEqual(firstPid, Pid(again));
        Assert.False(ProcessTable.IsAlive(firstPid));
        Assert.Equal([firstPid, Pid(again)], upstream.StartedPids);
    }

    [Theory]
    [InlineData(McpHttp.Modern)]
    [InlineData(McpHttp.Legacy)]
    public async Task HangingCall_DelaysNeitherListsNorOtherCalls_AndTheCallersCancellationReachesTheUpstream(string era)
    {
        UpstreamConfig.RequireNode();
        using var upstream = new MisbehavingUpstream();
        await using var server = await StartAsync(upstream.Configuration().With(Prefix + "Timeout", "00:01:00"));
        await using var other = await ConnectAsync(RawModern, server.BaseUri);
        await using var hanging = await HangingCall.StartAsync(server, era);
        await upstream.WaitForEventAsync("call hang");

        var names = await other.ListToolNamesAsync();
        var local = await other.CallAsync("text_echo", new JsonObject { ["text"] = "not delayed" });
        var sameUpstream = await other.CallAsync("misbehaving_echo", new JsonObject { ["text"] = "shared connection" });

        Assert.Contains("misbehaving_hang", names);
        Assert.Equal("not delayed", Text(local));
        Assert.Equal("shared connection", Text(sameUpstream));
        Assert.False(hanging.IsCompleted);
        await hanging.CancelAsync();
        await upstream.WaitForEventAsync("cancelled hang");
    }

    [Fact]
    public async Task HangingCall_TimesOutWithAnIsError_TheUpstreamSeesTheCancellation_AndKeepsServing()
    {
        UpstreamConfig.RequireNode();
        using var upstream = new MisbehavingUpstream();
        // The timeout is the hanging tool's own: the echo that follows must not race a one-second budget.
        await using var server = await StartAsync(upstream.Configuration().With("Switchboard:Plugins:misbehaving:Tools:hang:Timeout", "00:00:01"));
        await using var client = await ConnectAsync(RawModern, server.BaseUri);

        var result = await client.CallAsync("misbehaving_hang", []);

        Assert.True(IsError(result));
        Assert.Contains("Tool 'misbehaving_hang' timed out after 1 s", Text(result), StringComparison.Ordinal);
        await upstream.WaitForEventAsync("cancelled hang");
        Assert.Equal("fine", Text(await client.CallAsync("misbehaving_echo", new JsonObject { ["text"] = "fine" })));
        Assert.Single(upstream.StartedPids);
    }

    [Fact]
    public async Task GarbageOnStdout_CallerGetsAnIsErrorWithinTheTimeout_AndTheSessionKeepsServing()
    {
        UpstreamConfig.RequireNode();
        using var upstream = new MisbehavingUpstream();
        await using var server = await StartAsync(upstream.Configuration().With("Switchboard:Plugins:misbehaving:Tools:garbage:Timeout", "00:00:01"));
        await using var client = await ConnectAsync(RawLegacy, server.BaseUri);

        var result = await client.CallAsync("misbehaving_garbage", []);

        Assert.True(IsError(result));
        Assert.Contains("Tool 'misbehaving_garbage' timed out after 1 s", Text(result), StringComparison.Ordinal);
        Assert.Equal("after garbage", Text(await client.CallAsync("misbehaving_echo", new JsonObject { ["text"] = "after garbage" })));
        Assert.Single(upstream.StartedPids);
    }

    [Fact]
    public async Task UpstreamsThatNeverStart_DoNotStopTheGateway_NorLeaveProcessesBehind()
    {
        UpstreamConfig.RequireNode();
        using var exits = new MisbehavingUpstream("exits");
        using var hangs = new MisbehavingUpstream("hangs");
        using var garbles = new MisbehavingUpstream("garbles");
        var configuration = UpstreamConfig.Merge(
            exits.Configuration(mode: "exit-at-start"),
            // 3 s, not 1 s: on a loaded machine node may need more than a second to load the SDK and log its start.
            hangs.Configuration(mode: "hang-at-start").With("Switchboard:Upstreams:hangs:StartTimeout", "00:00:03"),
            garbles.Configuration(mode: "garbage-at-start").With("Switchboard:Upstreams:garbles:StartTimeout", "00:00:03"));
        foreach (var name in new[] { "exits", "hangs", "garbles" })
        {
            configuration[$"Switchboard:Upstreams:{name}:Restart:InitialDelay"] = "00:01:00";
            configuration[$"Switchboard:Upstreams:{name}:Restart:MaxDelay"] = "00:01:00";
        }

        var logs = new CapturingLoggerProvider();
        await using var server = await SwitchboardTestServer.StartAsync(
            configure: b => b.Services.AddSingleton<ILoggerProvider>(logs),
            configuration: configuration,
            cancellationToken: Token);
        await using var client = await ConnectAsync(RawModern, server.BaseUri);

        var names = await client.ListToolNamesAsync();
        Assert.Equal(Switchboard.Tests.Interop.SwitchboardServeFixture.SampleTools, names);
        Assert.Contains(logs.Messages, m => m.Contains("Upstream exits: could not be started: the process exited with code 3 during start-up", StringComparison.Ordinal));
        Assert.Contains(logs.Messages, m => m.Contains("Upstream hangs: could not be started: it did not complete the MCP handshake within 3 s", StringComparison.Ordinal));
        Assert.Contains(logs.Messages, m => m.Contains("Upstream garbles: could not be started: it did not complete the MCP handshake within 3 s", StringComparison.Ordinal));
        Assert.Equal("served", Text(await client.CallAsync("text_echo", new JsonObject { ["text"] = "served" })));
        var pids = exits.StartedPids.Concat(hangs.StartedPids).Concat(garbles.StartedPids).ToList();
        Assert.Equal(3, pids.Count);
        await Eventually.TrueAsync(() => !pids.Any(ProcessTable.IsAlive), "every failed start's process to be gone");
    }

    [Fact]
    public async Task ExitsAtStart_WithCachedTools_ToolsStayListedButMarked_AndCallsFailFastNamingTheUpstream()
    {
        UpstreamConfig.RequireNode();
        using var data = new TemporaryDirectory();
        using var upstream = new MisbehavingUpstream();
        await using (var healthy = await StartAsync(upstream.Configuration(start: "Lazy"), data))
        {
            await using var first = await ConnectAsync(RawModern, healthy.BaseUri);
            Assert.Contains("misbehaving_echo", await first.ListToolNamesAsync());
        }

        var broken = upstream.Configuration(mode: "exit-at-start")
            .With(Prefix + "Restart:InitialDelay", "00:01:00")
            .With(Prefix + "Restart:MaxDelay", "00:01:00");
        await using var server = await StartAsync(broken, data);
        await using var client = await ConnectAsync(SdkModern, server.BaseUri);

        var echo = (await client.ListToolsAsync()).Single(t => t["name"]!.GetValue<string>() == "misbehaving_echo");
        var mark = echo["_meta"]!["switchboard/upstream"]!;
        Assert.False(mark["available"]!.GetValue<bool>());
        Assert.Equal("it could not be started: the process exited with code 3 during start-up", mark["reason"]!.GetValue<string>());
        Assert.NotNull(mark["retryAt"]);
        Assert.StartsWith("[Unavailable: upstream server 'misbehaving' is down;", echo["description"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.EndsWith("Returns its text.", echo["description"]!.GetValue<string>(), StringComparison.Ordinal);

        var result = await client.CallAsync("misbehaving_echo", new JsonObject { ["text"] = "anyone?" });
        Assert.True(IsError(result));
        Assert.StartsWith(
            "Upstream server 'misbehaving' is unavailable: it could not be started: the process exited with code 3 during start-up. " +
            "Switchboard restarts it automatically; try again in about",
            Text(result),
            StringComparison.Ordinal);
        Assert.Equal("ok", Text(await client.CallAsync("text_echo", new JsonObject { ["text"] = "ok" })));
        Assert.Equal(2, upstream.StartedPids.Count);
    }

    [Fact]
    public async Task CircuitBreaker_OpensOnTimeouts_FailsFastAndMarksTools_ThenClosesAfterATrialCall()
    {
        UpstreamConfig.RequireNode();
        using var upstream = new MisbehavingUpstream();
        var configuration = upstream.Configuration()
            .With("Switchboard:Plugins:misbehaving:Tools:hang:Timeout", "00:00:00.300")
            .With(Prefix + "CircuitBreaker:MinimumThroughput", "2")
            .With(Prefix + "CircuitBreaker:FailureRatio", "0.5")
            .With(Prefix + "CircuitBreaker:BreakDuration", "00:00:05");
        await using var server = await StartAsync(configuration);
        await using var client = await ConnectAsync(RawModern, server.BaseUri);

        Assert.Contains("timed out", Text(await client.CallAsync("misbehaving_hang", [])), StringComparison.Ordinal);
        Assert.Contains("timed out", Text(await client.CallAsync("misbehaving_hang", [])), StringComparison.Ordinal);

        // The breaker counts a timeout as the upstream call unwinds, a moment after the caller already has its answer.
        // Wait for the open circuit through the tool list (no upstream call): successful probe calls made meanwhile
        // would count as successes and could keep the failure ratio under the threshold.
        await Eventually.ValueAsync(() => EchoMarkAsync(client), available => available == false, "the tools to be marked unavailable");
        var refused = await client.CallAsync("misbehaving_echo", new JsonObject { ["text"] = "x" });
        Assert.True(IsError(refused));
        Assert.StartsWith("Upstream server 'misbehaving' is unavailable: too many of its recent calls failed or timed out", Text(refused), StringComparison.Ordinal);
        var recovered = await Eventually.ValueAsync(() => client.CallAsync("misbehaving_echo", new JsonObject { ["text"] = "back" }), r => !IsError(r), "a call after the break");
        Assert.Equal("back", Text(recovered));
        await Eventually.ValueAsync(() => EchoMarkAsync(client), available => available == true, "the tools to be marked available again");
        Assert.True(upstream.StartedPids.Count >= 2, "the connection is replaced when the circuit opens");
    }

    [Fact]
    public async Task CircuitBreaker_IgnoresIsErrorResultsAndJsonRpcErrors_BecauseTheUpstreamIsAnswering()
    {
        UpstreamConfig.RequireNode();
        using var upstream = new MisbehavingUpstream();
        var configuration = upstream.Configuration()
            .With(Prefix + "CircuitBreaker:MinimumThroughput", "2")
            .With(Prefix + "CircuitBreaker:FailureRatio", "0.5");
        await using var server = await StartAsync(configuration);
        await using var client = await ConnectAsync(RawModern, server.BaseUri);

        for (var i = 0; i < 5; i++)
        {
            var failed = await client.CallAsync("misbehaving_fail", []);
            Assert.True(IsError(failed));
            Assert.Equal("failed on purpose", Text(failed));
        }

        for (var i = 0; i < 3; i++)
        {
            var rejected = await client.CallAsync("misbehaving_rpc_error", []);
            Assert.True(IsError(rejected));
            Assert.Equal(
                "Upstream server 'misbehaving' rejected the call to tool 'misbehaving_rpc_error' (JSON-RPC error -32602): MCP error -32602: rejected on purpose",
                Text(rejected));
        }

        Assert.Equal("still closed", Text(await client.CallAsync("misbehaving_echo", new JsonObject { ["text"] = "still closed" })));
        Assert.True(await EchoMarkAsync(client));
    }

    [Fact]
    public async Task ConcurrentCallersFromSeveralSessionsAndTransports_ShareOneUpstreamProcess()
    {
        UpstreamConfig.RequireNode();
        using var upstream = new MisbehavingUpstream();
        await using var server = await StartAsync(upstream.Configuration());
        var clients = new List<GatewayClient>();
        foreach (var transport in new[] { RawModern, RawLegacy, RawLegacy, SdkModern, SdkLegacy, Rest, WebSocket })
        {
            clients.Add(await ConnectAsync(transport, server.BaseUri));
        }

        try
        {
            var calls = clients.SelectMany(c => Enumerable.Range(0, 3).Select(_ => c.CallAsync("misbehaving_pid", []))).ToList();
            var pids = (await Task.WhenAll(calls)).Select(Pid).Distinct().ToList();

            Assert.Equal(upstream.StartedPids, pids);
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task LazyUpstream_StartsOnFirstCall_UsingTheCachedToolList_AndStopsWhenIdle()
    {
        UpstreamConfig.RequireNode();
        using var data = new TemporaryDirectory();
        using var upstream = new MisbehavingUpstream();
        await using (var discovery = await StartAsync(upstream.Configuration(start: "Lazy"), data))
        {
            // Never seen before: it ran once to learn its tools, and was stopped until its first call.
            var discovered = Assert.Single(upstream.StartedPids);
            await Eventually.TrueAsync(() => !ProcessTable.IsAlive(discovered), "the discovery run to stop");
        }

        var lazy = upstream.Configuration(start: "Lazy").With(Prefix + "IdleTimeout", "00:00:00.300");
        await using var server = await StartAsync(lazy, data);
        await using var client = await ConnectAsync(RawModern, server.BaseUri);

        Assert.Contains("misbehaving_pid", await client.ListToolNamesAsync());
        Assert.Single(upstream.StartedPids);
        var first = Pid(await client.CallAsync("misbehaving_pid", []));
        Assert.Equal(2, upstream.StartedPids.Count);
        await Eventually.TrueAsync(() => !ProcessTable.IsAlive(first), "the idle upstream to be stopped");
        var second = Pid(await client.CallAsync("misbehaving_pid", []));
        Assert.NotEqual(first, second);
        Assert.True(await EchoMarkAsync(client), "an idle-stopped upstream is not down");
    }

    [Fact]
    public async Task ListChangedFromTheUpstream_RefreshesTheCatalog_AndReachesConnectedClients()
    {
        UpstreamConfig.RequireNode();
        using var upstream = new MisbehavingUpstream();
        await using var server = await StartAsync(upstream.Configuration());
        var transport = new HttpClientTransport(new HttpClientTransportOptions { Endpoint = server.McpUri, TransportMode = HttpTransportMode.StreamableHttp });
        await using var client = await McpClient.CreateAsync(transport, new McpClientOptions { ProtocolVersion = McpHttp.Legacy }, cancellationToken: Token);
        await using var changes = new ListChangedCounter(client);
        await changes.WaitForStreamAsync(server);
        var seen = changes.Count;
        Assert.DoesNotContain("misbehaving_added_1", (await client.ListToolsAsync(cancellationToken: Token)).Select(t => t.Name));

        await client.CallToolAsync("misbehaving_add_tool", cancellationToken: Token);

        await changes.WaitForMoreThanAsync(seen);
        Assert.Contains("misbehaving_added_1", (await client.ListToolsAsync(cancellationToken: Token)).Select(t => t.Name));
        var added = await client.CallToolAsync("misbehaving_added_1", cancellationToken: Token);
        Assert.Equal("added_1", Assert.IsType<TextContentBlock>(Assert.Single(added.Content)).Text);
    }

    [Fact]
    public async Task CallsBeyondTheConcurrencyLimit_AreRefusedAsBusy_NotQueuedForever()
    {
        UpstreamConfig.RequireNode();
        using var upstream = new MisbehavingUpstream();
        var configuration = upstream.Configuration()
            .With(Prefix + "MaxConcurrency", "1")
            .With(Prefix + "MaxQueuedCalls", "0")
            .With(Prefix + "Timeout", "00:01:00");
        await using var server = await StartAsync(configuration);
        await using var other = await ConnectAsync(RawModern, server.BaseUri);
        await using var hanging = await HangingCall.StartAsync(server, McpHttp.Modern);
        await upstream.WaitForEventAsync("call hang");

        var refused = await other.CallAsync("misbehaving_echo", new JsonObject { ["text"] = "x" });

        Assert.True(IsError(refused));
        Assert.StartsWith("Upstream server 'misbehaving' is busy: 1 calls are running", Text(refused), StringComparison.Ordinal);
        await hanging.CancelAsync();
        var served = await Eventually.ValueAsync(() => other.CallAsync("misbehaving_echo", new JsonObject { ["text"] = "free" }), r => !IsError(r), "the slot to free up");
        Assert.Equal("free", Text(served));
    }

    [Fact]
    public async Task StoppingTheGateway_EndsEveryUpstreamProcess_EvenOnesThatIgnoreTheirInputClosing()
    {
        UpstreamConfig.RequireNode();
        using var stubborn = new MisbehavingUpstream("stubborn");
        using var polite = new MisbehavingUpstream("polite");
        var server = await StartAsync(UpstreamConfig.Merge(stubborn.Configuration(keepAlive: true), polite.Configuration()));
        int[] pids;
        await using (var client = await ConnectAsync(RawModern, server.BaseUri))
        {
            pids = [Pid(await client.CallAsync("stubborn_pid", [])), Pid(await client.CallAsync("polite_pid", []))];
        }

        Assert.All(pids, pid => Assert.True(ProcessTable.IsAlive(pid)));
        Assert.Equal(pids.Order(), stubborn.StartedPids.Concat(polite.StartedPids).Order());

        await server.DisposeAsync();

        // A killed process takes a moment to be reaped; what matters is that none survives.
        await Eventually.TrueAsync(() => !pids.Any(ProcessTable.IsAlive), "every upstream process to end with the gateway", TimeSpan.FromSeconds(10));
    }

    /// <summary>
    /// A <c>misbehaving_hang</c> call in flight, cancelled the way its era prescribes: 2026-07-28 closes the response
    /// stream; 2025-11-25 sends <c>notifications/cancelled</c> in the session (raw, because the SDK client 2.3.1 does not
    /// send it when its token is cancelled).
    /// </summary>
    private sealed class HangingCall : IAsyncDisposable
    {
        private readonly HttpClient _http;
        private readonly CancellationTokenSource _abort;
        private readonly Task<McpHttpResponse> _call;
        private readonly Uri _endpoint;
        private readonly string? _session;

        private HangingCall(HttpClient http, CancellationTokenSource abort, Task<McpHttpResponse> call, Uri endpoint, string? session)
        {
            _http = http;
            _abort = abort;
            _call = call;
            _endpoint = endpoint;
            _session = session;
        }

        public bool IsCompleted => _call.IsCompleted;

        public static async Task<HangingCall> StartAsync(SwitchboardTestServer server, string era)
        {
            var http = server.CreateHttpClient();
            var abort = CancellationTokenSource.CreateLinkedTokenSource(Token);
            var parameters = new JsonObject { ["name"] = "misbehaving_hang", ["arguments"] = new JsonObject() };
            if (era == McpHttp.Modern)
            {
                var modern = McpHttp.SendAsync(http, McpHttp.ModernRequest(server.McpUri, "tools/call", parameters, id: 99), abort.Token);
                return new HangingCall(http, abort, modern, server.McpUri, session: null);
            }

            var session = await McpHttp.InitializeLegacySessionAsync(http, server.McpUri, Token);
            var body = new JsonObject { ["jsonrpc"] = "2.0", ["id"] = 99, ["method"] = "tools/call", ["params"] = parameters };
            var legacy = McpHttp.SendAsync(http, McpHttp.Post(server.McpUri, body.ToJsonString(), session, McpHttp.Legacy), abort.Token);
            return new HangingCall(http, abort, legacy, server.McpUri, session);
        }

        public async Task CancelAsync()
        {
            if (_session is null)
            {
                await _abort.CancelAsync();
                return;
            }

            var cancelled = await McpHttp.SendAsync(
                _http,
                McpHttp.Post(_endpoint, """{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":99}}""", _session, McpHttp.Legacy),
                Token);
            Assert.Equal(202, cancelled.Status);
        }

        public async ValueTask DisposeAsync()
        {
            await _abort.CancelAsync();
            try
            {
                await _call;
            }
            catch (OperationCanceledException)
            {
            }
            catch (HttpRequestException)
            {
            }

            _abort.Dispose();
            _http.Dispose();
        }
    }

    private static async Task<bool?> EchoMarkAsync(GatewayClient client)
    {
        var echo = (await client.ListToolsAsync()).Single(t => t["name"]!.GetValue<string>() == "misbehaving_echo");
        return echo["_meta"]?["switchboard/upstream"]?["available"]?.GetValue<bool>();
    }

    private static int Pid(JsonObject result)
    {
        Assert.False(IsError(result), result.ToJsonString());
        return int.Parse(Text(result), CultureInfo.InvariantCulture);
    }

    private static Task<SwitchboardTestServer> StartAsync(Dictionary<string, string?> configuration, TemporaryDirectory? data = null)
        => SwitchboardTestServer.StartAsync(configuration: configuration, dataDirectory: data, cancellationToken: Token);
}
