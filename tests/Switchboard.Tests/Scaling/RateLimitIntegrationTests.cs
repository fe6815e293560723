using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Compliance.Audit;
using Switchboard.Hosting;
using Switchboard.Pipeline;
using Switchboard.Tests.TestSupport;
using Switchboard.Tests.Transports.Rest;

namespace Switchboard.Tests.Scaling;

/// <summary>
/// Rate limits and bulkheads end to end (catalog REL-07): real Kestrel, real tokens, the real audit log. A caller over
/// its budget is answered at once (REST 429 with <c>Retry-After</c>, JSON-RPC -32029 on MCP), the tool does not run, the
/// audit log records one <c>rate_limited</c> record and no intent, and other callers are unaffected.
/// </summary>
public sealed class RateLimitIntegrationTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static Task<SwitchboardTestServer> StartAsync(Dictionary<string, string?> configuration, ProbeState? probe = null)
        => SwitchboardTestServer.StartAsync(
            configure: b =>
            {
                b.Services.AddSingleton(probe ?? new ProbeState());
                b.AddPlugin<ProbeTools>(ProbeTools.PluginName, "1.0.0");
            },
            configuration: configuration,
            authenticate: true,
            cancellationToken: Token);

    private static Task<McpHttpResponse> CallAsync(SwitchboardTestServer server, HttpClient http, string tool, JsonObject arguments, object? id = null)
        => McpHttp.SendAsync(http, McpHttp.ModernRequest(server.McpUri, "tools/call", new JsonObject { ["name"] = tool, ["arguments"] = arguments }, id), Token);

    [Fact]
    public async Task OverItsRate_ACallerIsRefused_OnRestWith429AndRetryAfter_OnMcpWithMinus32029_OthersAreServed()
    {
        await using var server = await StartAsync(new()
        {
            ["Switchboard:Limits:PerCaller:RequestsPerSecond"] = "0.01",
            ["Switchboard:Limits:PerCaller:Burst"] = "2",
        });
        var aliceToken = server.IssueToken("tools:*", subject: "alice");
        using var alice = server.CreateHttpClient(aliceToken);
        using var bob = server.CreateHttpClient(server.IssueToken("tools:*", subject: "bob"));

        // The burst: one REST call and one MCP call.
        var first = await RestHttp.CallAsync(alice, "probe_add", """{"a":1,"b":2}""");
        Assert.Equal(HttpStatusCode.OK, first.Status);
        var second = await CallAsync(server, alice, "probe_add", new JsonObject { ["a"] = 40, ["b"] = 2 });
        Assert.Equal("42", second.Message!["result"]!["content"]![0]!["text"]!.GetValue<string>());

        // REST: 429, Retry-After (one token per 100 s, less the real time the calls above took: 100 s, or 99 on a slow
        // machine), problem details that say why and leak nothing.
        var limited = await RestHttp.CallAsync(alice, "probe_add", """{"a":1,"b":2}""");
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.Status);
        var retryAfter = (long)limited.Headers.RetryAfter!.Delta!.Value.TotalSeconds;
        Assert.InRange(retryAfter, 95, 100);
        Assert.Equal("application/problem+json", limited.MediaType);
        Assert.Equal("rate_limited", limited.Body["code"]!.GetValue<string>());
        Assert.Equal(429, limited.Body["status"]!.GetValue<int>());
        Assert.Contains($"0.01 tool calls per second (bursts of 2). Retry after {retryAfter} s.", limited.Body["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.DoesNotContain(aliceToken, limited.Text, StringComparison.Ordinal);

        // MCP: a JSON-RPC error with the wait in its data, inside a normal 200 response.
        var refused = await CallAsync(server, alice, "probe_add", new JsonObject { ["a"] = 1, ["b"] = 1 }, id: 7);
        Assert.Equal(200, refused.Status);
        var error = refused.Message!["error"]!;
        Assert.Equal(GatewayError.TooManyRequestsCode, error["code"]!.GetValue<int>());
        Assert.InRange(error["data"]!["retryAfterSeconds"]!.GetValue<long>(), 95, retryAfter);
        Assert.Equal(7, refused.Message!["id"]!.GetValue<int>());

        // Bob has a budget of his own.
        var bobs = await RestHttp.CallAsync(bob, "probe_add", """{"a":2,"b":2}""");
        Assert.Equal(HttpStatusCode.OK, bobs.Status);

        // The audit log: an intent for each of the three calls that ran, and for each refusal one record that says why.
        var calls = (await server.ReadAuditRecordsAsync()).Where(r => r["kind"]!.GetValue<string>().StartsWith("call", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, calls.Count(r => r["kind"]!.GetValue<string>() == "call.intent"));
        var refusals = calls.Where(r => r["decision"]?.GetValue<string>() == "rate_limited").ToList();
        Assert.Equal(2, refusals.Count);
        Assert.All(refusals, r =>
        {
            Assert.Equal("call", r["kind"]!.GetValue<string>());
            Assert.Equal("rate_limited", r["outcome"]!.GetValue<string>());
            Assert.Equal("TooManyRequests", r["error"]!.GetValue<string>());
            Assert.Equal("alice", r["principal"]!.GetValue<string>());
        });

        var metrics = await alice.GetStringAsync(new Uri("/metrics", UriKind.Relative), Token);
        Assert.Contains("outcome=\"rate_limited\",plugin=\"probe\",tool=\"probe_add\"", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACallersBulkhead_RefusesItsExtraCallsWhileTheyRun_WithoutTouchingOtherCallers()
    {
        var probe = new ProbeState();
        await using var server = await StartAsync(new() { ["Switchboard:Limits:PerCaller:MaxConcurrentCalls"] = "1" }, probe);
        using var alice = server.CreateHttpClient(server.IssueToken("tools:*", subject: "alice"));
        using var bob = server.CreateHttpClient(server.IssueToken("tools:*", subject: "bob"));

        var aliceRunning = CallAsync(server, alice, "probe_gate", new JsonObject { ["tag"] = "alice" });
        Assert.True(await probe.GateStarted.WaitAsync(TimeSpan.FromSeconds(30), Token));

        // Alice's second call is refused at once (over WebSocket too), while her first still runs.
        var refused = await CallAsync(server, alice, "probe_add", new JsonObject { ["a"] = 1, ["b"] = 1 });
        Assert.Equal(GatewayError.TooManyRequestsCode, refused.Message!["error"]!["code"]!.GetValue<int>());
        Assert.Contains("this caller may run 1 tool calls at a time", refused.Message!["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        await using (var socket = await McpWebSocket.ConnectAsync(server.BaseUri, Token, bearerToken: server.IssueToken("tools:*", subject: "alice")))
        {
            await socket.InitializeAsync(Token);
            await socket.SendAsync(McpWebSocket.Call(5, "probe_add", new JsonObject { ["a"] = 1, ["b"] = 1 }), Token);
            var (response, _) = await socket.ReceiveResponseAsync(5, Token);
            Assert.Equal(GatewayError.TooManyRequestsCode, response["error"]!["code"]!.GetValue<int>());
        }

        // Bob's call runs beside hers.
        var bobRunning = CallAsync(server, bob, "probe_gate", new JsonObject { ["tag"] = "bob" });
        Assert.True(await probe.GateStarted.WaitAsync(TimeSpan.FromSeconds(30), Token));
        Assert.Equal(2, Volatile.Read(ref probe.GateRunning));

        probe.Gate.Release(2);
        Assert.Equal("passed alice", (await aliceRunning).Message!["result"]!["content"]![0]!["text"]!.GetValue<string>());
        Assert.Equal("passed bob", (await bobRunning).Message!["result"]!["content"]![0]!["text"]!.GetValue<string>());

        // Her slot is back once her call ended.
        var after = await CallAsync(server, alice, "probe_add", new JsonObject { ["a"] = 40, ["b"] = 2 });
        Assert.Equal("42", after.Message!["result"]!["content"]![0]!["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task APluginBulkheadWithAQueue_RunsOneCallAtATime_QueuesOne_AndRefusesTheRest()
    {
        var probe = new ProbeState();
        await using var server = await StartAsync(
            new()
            {
                ["Switchboard:Plugins:probe:MaxConcurrentCalls"] = "1",
                ["Switchboard:Plugins:probe:MaxQueuedCalls"] = "1",
                ["Switchboard:Limits:QueueTimeout"] = "00:01:00",
            },
            probe);
        using var alice = server.CreateHttpClient(server.IssueToken("tools:*", subject: "alice"));
        using var bob = server.CreateHttpClient(server.IssueToken("tools:*", subject: "bob"));

        var running = CallAsync(server, alice, "probe_gate", new JsonObject { ["tag"] = "first" });
        Assert.True(await probe.GateStarted.WaitAsync(TimeSpan.FromSeconds(30), Token));
        var queued = CallAsync(server, bob, "probe_gate", new JsonObject { ["tag"] = "queued" });
        var limiter = server.GetRequiredService<Switchboard.Scaling.Limits.CallLimiter>();
        await Eventually.TrueAsync(() => limiter.QueuedFor("probe") == 1, "the second call to wait in the plugin's queue");

        // The plugin's bound covers every caller and every tool of it: a third call is refused while the queue is full.
        var refused = await CallAsync(server, alice, "probe_add", new JsonObject { ["a"] = 1, ["b"] = 1 });
        Assert.Contains("plugin 'probe' runs at most 1 calls at a time (with up to 1 more waiting, each at most 60 s)", refused.Message!["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(1, Volatile.Read(ref probe.GateStartedCount));

        // Releasing the first lets the queued one start; never two at once.
        probe.Gate.Release();
        Assert.Equal("passed first", (await running).Message!["result"]!["content"]![0]!["text"]!.GetValue<string>());
        Assert.True(await probe.GateStarted.WaitAsync(TimeSpan.FromSeconds(30), Token));
        probe.Gate.Release();
        Assert.Equal("passed queued", (await queued).Message!["result"]!["content"]![0]!["text"]!.GetValue<string>());
        Assert.Equal(1, Volatile.Read(ref probe.GateMaxRunning));
    }
}
