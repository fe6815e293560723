using System.ComponentModel;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Switchboard.Conversations;
using Switchboard.Hosting;
using Switchboard.Tests.Conversations;
using Switchboard.Tests.TestSupport;
using Switchboard.Transports.Mcp;
using Switchboard.Transports.WebSockets;

namespace Switchboard.Tests.Transports.WebSockets;

/// <summary>
/// A WebSocket connection lets its MCP SDK server go once its last request is answered and gets a new one for the next
/// message: a 2026-07-28 connection as it is, a 2025-11-25 session by replaying its initialize into the new server; a
/// server that holds state a new one could not get (a logging level, a suspended handler) is kept.
/// Real Kestrel, real sockets; the server counts come from the handler and the session registry.
/// </summary>
public sealed class WebSocketServerReleaseTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static Task<SwitchboardTestServer> StartAsync(ProbeState? state = null, Dictionary<string, string?>? configuration = null)
        => SwitchboardTestServer.StartAsync(
            configure: b =>
            {
                b.Services.AddSingleton(state ?? new ProbeState());
                b.Services.AddSingleton<AskState>();
                b.AddPlugin<ProbeTools>(ProbeTools.PluginName, "1.0.0");
                b.AddPlugin<AskTools>(AskTools.PluginName, "1.0.0");
                b.AddPlugin<TallyTools>(TallyTools.PluginName, "1.0.0").AddConversation(TallyTools.Conversation);
            },
            configuration: configuration,
            cancellationToken: Token);

    /// <summary>Configuration with the given linger (zero: the server goes after every answer).</summary>
    private static Dictionary<string, string?> Linger(string linger) => new() { ["Switchboard:WebSockets:ServerLinger"] = linger };

    private static JsonObject Echo(object id, string text) => McpWebSocket.Call(id, "text_echo", new JsonObject { ["text"] = text }, McpHttp.ModernMeta());

    private static JsonObject ElicitingMeta()
    {
        var meta = McpHttp.ModernMeta();
        meta["io.modelcontextprotocol/clientCapabilities"] = new JsonObject { ["elicitation"] = new JsonObject() };
        return meta;
    }

    /// <summary>Sends a 2026-07-28 echo and asserts that its answer carries the text back.</summary>
    private static async Task EchoAsync(McpWebSocket socket, object id, string text)
    {
        await socket.SendAsync(Echo(id, text), Token);
        Assert.Equal(text, Text((await socket.ReceiveResponseAsync(id, Token)).Response));
    }

    /// <summary>Sends a 2025-11-25 echo (no <c>_meta</c>: only an initialized session serves it) and asserts its answer.</summary>
    private static async Task LegacyEchoAsync(McpWebSocket socket, object id, string text)
    {
        await socket.SendAsync(McpWebSocket.Call(id, "text_echo", new JsonObject { ["text"] = text }), Token);
        Assert.Equal(text, Text((await socket.ReceiveResponseAsync(id, Token)).Response));
    }

    private static string Text(JsonObject response) => response["result"]!["content"]![0]!["text"]!.GetValue<string>();

    [Fact]
    public async Task ARequestAfterAQuietSpell_LetsItsServerGoAtOnce_AndRequestsInQuickSuccessionShareOne()
    {
        await using var server = await StartAsync(configuration: Linger("00:01:00"));
        var handler = server.GetRequiredService<WebSocketConnectionHandler>();
        var sessions = server.GetRequiredService<McpSessionRegistry>();
        await using var socket = await McpWebSocket.ConnectAsync(server.BaseUri, Token);

        // The connection's first request has no predecessor: its server goes as soon as it is answered.
        await EchoAsync(socket, 1, "first");
        await WaitUntilAsync(() => sessions.Count.Sessions == 0);
        Assert.Equal(1, handler.ServersStarted);

        // The next ones come within a minute of each other: they get one new server, which stays between them.
        for (var id = 2; id <= 4; id++)
        {
            await EchoAsync(socket, id, "quick " + id);
        }

        Assert.Equal(2, handler.ServersStarted);
        Assert.Equal(1, sessions.Count.Sessions);
        Assert.Equal(1, handler.OpenConnections);
    }

    [Fact]
    public async Task ALingeringServer_IsLetGo_OnceTheConnectionHasBeenQuietForTheLinger()
    {
        await using var server = await StartAsync(configuration: Linger("00:00:02"));
        var handler = server.GetRequiredService<WebSocketConnectionHandler>();
        var sessions = server.GetRequiredService<McpSessionRegistry>();
        await using var socket = await McpWebSocket.ConnectAsync(server.BaseUri, Token);

        // Sent back to back: the later ones arrive well within the linger of the one before.
        for (var id = 1; id <= 3; id++)
        {
            await socket.SendAsync(Echo(id, "burst " + id), Token);
        }

        // Answers leave as they finish, in any order.
        var answers = new Dictionary<int, string>();
        while (answers.Count < 3)
        {
            var answer = await socket.ReceiveAsync(Token) ?? throw new InvalidOperationException("The connection closed.");
            answers.Add(answer["id"]!.GetValue<int>(), Text(answer));
        }

        Assert.All(answers, pair => Assert.Equal("burst " + pair.Key, pair.Value));

        // The server is still there for the next quick request...
        var afterBurst = handler.ServersStarted;
        await EchoAsync(socket, 4, "quick");
        Assert.Equal(afterBurst, handler.ServersStarted);

        // ...and goes once the connection has been quiet for the linger; the next request gets a new one.
        await WaitUntilAsync(() => sessions.Count.Sessions == 0);
        await EchoAsync(socket, 5, "after the quiet");
        Assert.Equal(afterBurst + 1, handler.ServersStarted);
    }

    [Fact]
    public void ANegativeLinger_IsRefusedAtStart()
    {
        var result = new WebSocketTransportOptionsValidator().Validate(null, new WebSocketTransportOptions { ServerLinger = TimeSpan.FromSeconds(-1) });

        Assert.True(result.Failed);
        Assert.Contains("ServerLinger", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModernConnection_KeepsItsServer_WhileARequestIsInFlight()
    {
        var state = new ProbeState();
        await using var server = await StartAsync(state, Linger("00:00:00"));
        var handler = server.GetRequiredService<WebSocketConnectionHandler>();
        await using var socket = await McpWebSocket.ConnectAsync(server.BaseUri, Token);

        await socket.SendAsync(McpWebSocket.Call("gate", "probe_gate", new JsonObject { ["tag"] = "held" }, McpHttp.ModernMeta()), Token);
        await state.GateStarted.WaitAsync(Token);
        for (var id = 1; id <= 3; id++)
        {
            // Each echo is answered while the gate call is still in flight, so the server must stay.
            await EchoAsync(socket, id, "while held " + id);
        }

        state.Gate.Release();
        Assert.Equal("passed held", Text((await socket.ReceiveResponseAsync("gate", Token)).Response));
        Assert.Equal(1, handler.ServersStarted);

        await WaitUntilAsync(() => server.GetRequiredService<McpSessionRegistry>().Count.Sessions == 0);
        await EchoAsync(socket, 4, "after");
        Assert.Equal(2, handler.ServersStarted);
    }

    [Fact]
    public async Task AQuietLegacySession_LetsItsServerGo_AndTheNextServerIsInitializedAsTheFirstWas()
    {
        await using var server = await StartAsync(configuration: Linger("00:00:00"));
        var handler = server.GetRequiredService<WebSocketConnectionHandler>();
        var sessions = server.GetRequiredService<McpSessionRegistry>();
        await using var socket = await McpWebSocket.ConnectAsync(server.BaseUri, Token);
        await socket.InitializeAsync(Token);
        await WaitUntilAsync(() => sessions.Count.Sessions == 0 && sessions.ConnectionSessions == 1);

        for (var id = 2; id <= 4; id++)
        {
            // 2025-11-25 calls: no _meta, so only an initialized session can serve them.
            await socket.SendAsync(McpWebSocket.Call(id, "text_echo", new JsonObject { ["text"] = "legacy " + id }), Token);
            var (response, notifications) = await socket.ReceiveResponseAsync(id, Token);
            Assert.Equal("legacy " + id, Text(response));
            Assert.Empty(notifications);

            // Quiet after each answer: the server goes (its tracking ends once it has stopped), the session stays with the
            // connection.
            await WaitUntilAsync(() => sessions.Count.Sessions == 0 && sessions.ConnectionSessions == 1);
        }

        // With no linger the server goes whenever the connection is quiet: one for the handshake (kept until it is
        // complete), then one per call, each initialized by a replay whose answer never reached the client (nothing else
        // arrived above or arrives now).
        Assert.Equal(4, handler.ServersStarted);
        Assert.Null(await ReceiveNothingAsync(socket));
    }

    [Fact]
    public async Task ALegacyHandshake_KeepsItsServerUntilComplete_AndForTheFirstRequestAfterIt()
    {
        await using var server = await StartAsync(configuration: Linger("00:01:00"));
        var handler = server.GetRequiredService<WebSocketConnectionHandler>();
        var sessions = server.GetRequiredService<McpSessionRegistry>();
        await using var socket = await McpWebSocket.ConnectAsync(server.BaseUri, Token);

        // initialize alone: the session is not complete, so its server stays although nothing is in flight.
        await socket.SendAsync(
            new JsonObject
            {
                ["jsonrpc"] = "2.0",
                ["id"] = "init",
                ["method"] = "initialize",
                ["params"] = new JsonObject { ["protocolVersion"] = "2025-11-25", ["capabilities"] = new JsonObject(), ["clientInfo"] = new JsonObject { ["name"] = "raw-ws", ["version"] = "1.0.0" } },
            },
            Token);
        await socket.ReceiveResponseAsync("init", Token);

        // The server decides right after sending that answer; a server let go then would show below as a second one.
        Assert.Equal(1, sessions.Count.Sessions);
        Assert.Equal(0, sessions.ConnectionSessions);

        // notifications/initialized, then a call: the server lingers after the handshake, so one server serves all three.
        await socket.SendAsync(new JsonObject { ["jsonrpc"] = "2.0", ["method"] = "notifications/initialized" }, Token);
        await LegacyEchoAsync(socket, 2, "first");
        Assert.Equal(1, handler.ServersStarted);
        Assert.Equal(1, sessions.Count.Sessions);
        Assert.Equal(1, sessions.ConnectionSessions);
    }

    [Fact]
    public async Task AQuietLegacySession_CanStartOver_WithANewHandshake()
    {
        await using var server = await StartAsync(configuration: Linger("00:00:00"));
        var sessions = server.GetRequiredService<McpSessionRegistry>();
        await using var socket = await McpWebSocket.ConnectAsync(server.BaseUri, Token);
        await socket.InitializeAsync(Token);
        await LegacyEchoAsync(socket, 2, "first session");
        await WaitUntilAsync(() => sessions.Count.Sessions == 0);

        // A second handshake on a session whose server was let go starts a session like the first.
        await socket.InitializeAsync(Token);
        await socket.SendAsync(McpWebSocket.Call(3, "text_echo", new JsonObject { ["text"] = "second session" }), Token);
        var (response, notifications) = await socket.ReceiveResponseAsync(3, Token);
        Assert.Equal("second session", Text(response));
        Assert.Empty(notifications);
    }

    [Fact]
    public async Task AQuietLegacySession_StillHearsThatTheToolListChanged()
    {
        await using var server = await StartAsync(configuration: Linger("00:00:00"));
        var sessions = server.GetRequiredService<McpSessionRegistry>();
        await using var socket = await McpWebSocket.ConnectAsync(server.BaseUri, Token);
        await socket.InitializeAsync(Token);
        await LegacyEchoAsync(socket, 2, "before");

        // No server runs for the session any more (none could tell it): the connection must.
        await WaitUntilAsync(() => sessions.Count.Sessions == 0 && sessions.ConnectionSessions == 1);

        await sessions.NotifyToolsListChangedAsync(Token);
        var pushed = await socket.ReceiveAsync(Token, TimeSpan.FromSeconds(10));
        Assert.Equal("notifications/tools/list_changed", pushed?["method"]?.GetValue<string>());
        Assert.Null(pushed!["id"]);

        // The session goes on, and once its connection closes nothing is tracked for it any more.
        await LegacyEchoAsync(socket, 3, "after");
        await socket.CloseAsync(Token);
        await WaitUntilAsync(() => sessions.Count.Sessions == 0 && sessions.ConnectionSessions == 0);
    }

    [Fact]
    public async Task ALegacySessionWithALoggingLevel_KeepsItsServer_ForTheLifeOfTheConnection()
    {
        await using var server = await StartAsync(configuration: Linger("00:00:00"));
        var handler = server.GetRequiredService<WebSocketConnectionHandler>();
        var sessions = server.GetRequiredService<McpSessionRegistry>();
        await using var socket = await McpWebSocket.ConnectAsync(server.BaseUri, Token);
        await socket.InitializeAsync(Token);
        await socket.SendAsync(new JsonObject { ["jsonrpc"] = "2.0", ["id"] = "level", ["method"] = "logging/setLevel", ["params"] = new JsonObject { ["level"] = "debug" } }, Token);
        Assert.NotNull((await socket.ReceiveResponseAsync("level", Token)).Response["result"]);
        var serversBefore = handler.ServersStarted;

        for (var id = 2; id <= 4; id++)
        {
            await LegacyEchoAsync(socket, id, "legacy " + id);
        }

        // A new server would not know the level: every request after it went to the server that has it.
        Assert.Equal(serversBefore, handler.ServersStarted);
        await WaitUntilAsync(() => sessions.Count.Sessions == 1);
    }

    /// <summary>Null when nothing arrives on the socket for half a second.</summary>
    private static async Task<JsonObject?> ReceiveNothingAsync(McpWebSocket socket)
    {
        try
        {
            return await socket.ReceiveAsync(Token, TimeSpan.FromMilliseconds(500));
        }
        catch (OperationCanceledException) when (!Token.IsCancellationRequested)
        {
            return null;
        }
    }

    [Fact]
    public async Task ConversationState_CarriesAcrossServers_OnAModernConnection()
    {
        await using var server = await StartAsync(configuration: Linger("00:00:00"));
        var handler = server.GetRequiredService<WebSocketConnectionHandler>();
        var sessions = server.GetRequiredService<McpSessionRegistry>();
        await using var socket = await McpWebSocket.ConnectAsync(server.BaseUri, Token);

        await socket.SendAsync(McpWebSocket.Call(1, "tally_count", new JsonObject { ["delta"] = 2 }, McpHttp.ModernMeta()), Token);
        var (first, _) = await socket.ReceiveResponseAsync(1, Token);
        await WaitUntilAsync(() => sessions.Count.Sessions == 0);
        await socket.SendAsync(McpWebSocket.Call(2, "tally_count", new JsonObject { ["delta"] = 3 }, McpHttp.ModernMeta()), Token);
        var (second, _) = await socket.ReceiveResponseAsync(2, Token);
        await WaitUntilAsync(() => sessions.Count.Sessions == 0);
        await socket.SendAsync(McpWebSocket.Call(3, "tally_read", new JsonObject(), McpHttp.ModernMeta()), Token);
        var (read, _) = await socket.ReceiveResponseAsync(3, Token);

        // Three servers, one conversation: it is keyed by the connection, not by the server that happened to serve it.
        Assert.Equal(3, handler.ServersStarted);
        Assert.Equal(5, JsonNode.Parse(Text(read))!["hits"]!.GetValue<long>());
        Assert.Equal(
            first["result"]!["_meta"]![ConversationProtocol.HandleMetaKey]!.GetValue<string>(),
            second["result"]!["_meta"]![ConversationProtocol.HandleMetaKey]!.GetValue<string>());
    }

    [Fact]
    public async Task SuspendedHandler_KeepsItsServer_SoTheRetryResumesIt()
    {
        // No linger: only the suspended handler can keep the server between these requests.
        await using var server = await StartAsync(configuration: Linger("00:00:00"));
        var handler = server.GetRequiredService<WebSocketConnectionHandler>();
        var asked = server.GetRequiredService<AskState>();
        await using var socket = await McpWebSocket.ConnectAsync(server.BaseUri, Token);

        await socket.SendAsync(McpWebSocket.Call(1, "ask_name", new JsonObject(), ElicitingMeta()), Token);
        var (question, _) = await socket.ReceiveResponseAsync(1, Token);
        Assert.Equal("input_required", question["result"]!["resultType"]!.GetValue<string>());
        var requestState = question["result"]!["requestState"]!.GetValue<string>();
        var key = question["result"]!["inputRequests"]!.AsObject().Single().Key;

        // Another request, answered while the handler waits: the server must not be let go after it.
        await EchoAsync(socket, 2, "meanwhile");

        var retry = McpWebSocket.Call(3, "ask_name", new JsonObject(), ElicitingMeta());
        retry["params"]!["requestState"] = requestState;
        retry["params"]!["inputResponses"] = new JsonObject { [key] = new JsonObject { ["action"] = "accept", ["content"] = new JsonObject { ["name"] = "Ada" } } };
        await socket.SendAsync(retry, Token);
        var (answer, _) = await socket.ReceiveResponseAsync(3, Token);

        Assert.Equal("hello Ada", Text(answer));
        Assert.Equal(1, asked.Started);
        Assert.Equal(1, handler.ServersStarted);
    }

    [Fact]
    public async Task NotificationAlone_MakesAServer_ThatIsLetGoAgain()
    {
        await using var server = await StartAsync();
        var handler = server.GetRequiredService<WebSocketConnectionHandler>();
        await using var socket = await McpWebSocket.ConnectAsync(server.BaseUri, Token);

        await socket.SendAsync(new JsonObject { ["jsonrpc"] = "2.0", ["method"] = "notifications/cancelled", ["params"] = new JsonObject { ["requestId"] = 99 } }, Token);
        await WaitUntilAsync(() => handler.ServersStarted == 1);
        await WaitUntilAsync(() => server.GetRequiredService<McpSessionRegistry>().Count.Sessions == 0);

        await EchoAsync(socket, 1, "still served");
    }

    [Fact]
    public async Task WithReleaseTurnedOff_AConnectionKeepsOneServer()
    {
        await using var server = await StartAsync(configuration: new() { ["Switchboard:WebSockets:ReleaseIdleServers"] = "false" });
        var handler = server.GetRequiredService<WebSocketConnectionHandler>();
        await using var socket = await McpWebSocket.ConnectAsync(server.BaseUri, Token);

        for (var id = 1; id <= 3; id++)
        {
            await EchoAsync(socket, id, "kept " + id);
        }

        Assert.Equal(1, handler.ServersStarted);
        Assert.Equal(1, server.GetRequiredService<McpSessionRegistry>().Count.Sessions);
    }

    [Fact]
    public async Task RequestsArrivingWhileServersComeAndGo_AreAllAnsweredOnce()
    {
        // Bursts of 1 to 8 requests, the next sent as soon as any answer arrives: the connection's last answer and its
        // next request race each other all the time, so servers are let go and made while messages are on their way.
        await using var server = await StartAsync(configuration: Linger("00:00:00"));
        var handler = server.GetRequiredService<WebSocketConnectionHandler>();
        await using var socket = await McpWebSocket.ConnectAsync(server.BaseUri, Token);

        var answered = new Dictionary<string, string>();
        var next = 0;
        for (var round = 0; round < 60; round++)
        {
            var burst = 1 + (round % 8);
            var ids = Enumerable.Range(next, burst).Select(i => "r" + i).ToList();
            next += burst;
            foreach (var id in ids)
            {
                await socket.SendAsync(Echo(id, "text of " + id), Token);
            }

            var pending = ids.ToHashSet();
            while (pending.Count > 0)
            {
                var message = await socket.ReceiveAsync(Token) ?? throw new InvalidOperationException("The connection closed.");
                var id = message["id"]!.GetValue<string>();
                Assert.True(pending.Remove(id), "unexpected or repeated answer " + id);
                answered.Add(id, Text(message));
            }
        }

        Assert.Equal(next, answered.Count);
        Assert.All(answered, pair => Assert.Equal("text of " + pair.Key, pair.Value));
        // At least one release; at most one server per request (a burst can outrun its own server when an answer leaves
        // before the burst's next request arrives).
        Assert.InRange(handler.ServersStarted, 2, next);
        await WaitUntilAsync(() => server.GetRequiredService<McpSessionRegistry>().Count.Sessions == 0);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Token);
        deadline.CancelAfter(TimeSpan.FromSeconds(30));
        while (!condition())
        {
            await Task.Delay(10, deadline.Token);
        }
    }
}

/// <summary>How many times <c>ask_name</c> started (a resumed handler does not start again).</summary>
public sealed class AskState
{
#pragma warning disable CA1051 // Interlocked needs a field.
    public int Started;
#pragma warning restore CA1051
}

/// <summary>A tool that asks the client for a name mid-call: on 2026-07-28 the SDK suspends it and answers <c>input_required</c>.</summary>
[McpServerToolType]
public sealed class AskTools(AskState state)
{
    public const string PluginName = "ask";

    [McpServerTool(Name = "name"), Description("Asks the client for a name, then greets it.")]
    public async Task<string> Name(McpServer server, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref state.Started);
        var answer = await server.ElicitAsync(
            new ElicitRequestParams
            {
                Message = "What is your name?",
                RequestedSchema = new ElicitRequestParams.RequestSchema
                {
                    Properties = { ["name"] = new ElicitRequestParams.StringSchema() },
                    Required = ["name"],
                },
            },
            cancellationToken);
        return answer is { Action: "accept", Content: { } content } && content.TryGetValue("name", out var name) ? "hello " + name.GetString() : "no name";
    }
}
