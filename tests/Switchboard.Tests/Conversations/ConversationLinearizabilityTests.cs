using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Switchboard.Conversations;
using Switchboard.Hosting;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Conversations;

/// <summary>
/// Many writers on one conversation at once, over 2026-07-28 HTTP and WebSocket. The recorded history is checked:
/// no lost update on the exclusive key, exact counter totals, every set addition present, and an lww value that
/// was written.
/// </summary>
[Collection(ConversationServerTests.Name)]
public sealed class ConversationLinearizabilityTests
{
    private const int HttpWriters = 4;
    private const int WebSocketWriters = 2;
    private const int OperationsPerWriter = 20;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ConcurrentWritersOverHttpAndWebSocket_KeepEveryPolicysGuarantee()
    {
        await using var server = await SwitchboardTestServer.StartAsync(
            configure: b => b.AddPlugin<TallyTools>(TallyTools.PluginName, "1.0.0").AddConversation(TallyTools.Conversation),
            cancellationToken: Token);
        using var http = server.CreateHttpClient();
        var opener = new ConversationHttpClient(http, server.McpUri);
        var handle = await opener.OpenAsync(Token);
        var history = new ConcurrentBag<Event>();

        var writers = new List<Task>();
        for (var w = 0; w < HttpWriters; w++)
        {
            var client = new ConversationHttpClient(http, server.McpUri) { Handle = handle };
            var writer = $"http-{w}";
            writers.Add(RunAsync(writer, (tool, arguments) => client.CallAsync(tool, arguments, Token), history));
        }

        for (var w = 0; w < WebSocketWriters; w++)
        {
            var socket = await McpWebSocket.ConnectAsync(server.BaseUri, Token);
            await socket.InitializeAsync(Token);
            var writer = $"ws-{w}";
            var nextId = 0;
            writers.Add(Task.Run(async () =>
            {
                await using (socket)
                {
                    await RunAsync(writer, async (tool, arguments) =>
                    {
                        var id = ++nextId;
                        await socket.SendAsync(McpWebSocket.Call(id, tool, arguments, new JsonObject { [ConversationProtocol.HandleMetaKey] = handle }), Token);
                        var (response, _) = await socket.ReceiveResponseAsync(id, Token);
                        return response["result"]!.AsObject();
                    }, history);
                }
            }, Token));
        }

        await Task.WhenAll(writers);
        var final = JsonNode.Parse(ConversationHttpClient.Text(await opener.CallAsync("tally_read", new JsonObject(), Token)))!;
        var events = history.ToList();

        // exclusive: the successful read-modify-writes form one chain 0, 1, 2, ...: none read a version another
        // success had already replaced, so none was lost; the refused ones were reported as conflicts.
        var bumps = events.Where(e => e.Tool == "tally_bump").ToList();
        var applied = bumps.Where(e => !e.IsError).Select(e => long.Parse(e.Text.Split(':')[0], System.Globalization.CultureInfo.InvariantCulture)).Order().ToList();
        Assert.Equal(Enumerable.Range(0, applied.Count).Select(i => (long)i), applied);
        Assert.Equal(applied.Count, final["x"]?.GetValue<long>() ?? 0);
        Assert.All(bumps.Where(e => e.IsError), e => Assert.StartsWith("Tool 'tally_bump' ran, but its changes were not saved. State conflict: key 'x'", e.Text, StringComparison.Ordinal));
        Assert.NotEmpty(applied);

        // counter: exact total (increments never conflict).
        var counts = events.Where(e => e.Tool == "tally_count").ToList();
        Assert.All(counts, e => Assert.False(e.IsError, e.Text));
        Assert.Equal(counts.Sum(e => e.Delta), final["hits"]?.GetValue<long>() ?? 0);

        // set: every addition is there, nothing else.
        var joined = events.Where(e => e.Tool == "tally_join").Select(e => e.Value).ToHashSet();
        Assert.Equal(joined.Order(), (final["members"]?.AsArray() ?? []).Select(m => m!.GetValue<string>()).Order());

        // lww: the value is one that was written.
        var puts = events.Where(e => e.Tool == "tally_put").Select(e => e.Value).ToHashSet();
        if (puts.Count > 0)
        {
            Assert.Contains(final["latest"]!.GetValue<string>(), puts);
        }
    }

    private static async Task RunAsync(string writer, Func<string, JsonObject, Task<JsonObject>> call, ConcurrentBag<Event> history)
    {
        var random = new Random(writer.GetHashCode(StringComparison.Ordinal));
        for (var i = 0; i < OperationsPerWriter; i++)
        {
            var value = $"{writer}-{i}";
            var delta = random.Next(1, 10);
            var (tool, arguments) = random.Next(4) switch
            {
                0 => ("tally_bump", new JsonObject()),
                1 => ("tally_count", new JsonObject { ["delta"] = delta }),
                2 => ("tally_join", new JsonObject { ["member"] = value }),
                _ => ("tally_put", new JsonObject { ["value"] = value }),
            };
            var result = await call(tool, arguments);
            history.Add(new Event(writer, tool, value, delta, ConversationHttpClient.IsError(result), ConversationHttpClient.Text(result)));
        }
    }

    private sealed record Event(string Writer, string Tool, string Value, long Delta, bool IsError, string Text);
}
