using System.Text.Json.Nodes;
using Switchboard.Conversations;
using Switchboard.Hosting;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Conversations;

/// <summary>Operation ids replay, batches are atomic, and a conflict is a result the model can act on.</summary>
[Collection(ConversationServerTests.Name)]
public sealed class ConversationStateTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static Task<SwitchboardTestServer> StartAsync()
        => SwitchboardTestServer.StartAsync(
            configure: b => b.AddPlugin<TallyTools>(TallyTools.PluginName, "1.0.0").AddConversation(TallyTools.Conversation),
            cancellationToken: Token);

    private static async Task<JsonNode> ReadAsync(ConversationHttpClient client)
        => JsonNode.Parse(ConversationHttpClient.Text(await client.CallAsync("tally_read", new JsonObject(), Token)))!;

    [Fact]
    public async Task AReplayedOperationId_ReturnsTheFirstResult_WithoutApplyingTwice()
    {
        await using var server = await StartAsync();
        using var http = server.CreateHttpClient();
        var client = new ConversationHttpClient(http, server.McpUri);
        await client.OpenAsync(Token);

        var first = await client.CallAsync("tally_log", new JsonObject { ["entry"] = "a" }, Token, operationId: "op-1");
        var replays = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => client.CallAsync("tally_log", new JsonObject { ["entry"] = "a" }, Token, operationId: "op-1")));
        var misuse = await client.CallAsync("tally_log", new JsonObject { ["entry"] = "b" }, Token, operationId: "op-1");

        Assert.Equal("logged a", ConversationHttpClient.Text(first));
        Assert.All(replays, r =>
        {
            Assert.Equal("logged a", ConversationHttpClient.Text(r));
            Assert.True(r["_meta"]!["dev.switchboard/replayed"]!.GetValue<bool>());
        });
        Assert.True(ConversationHttpClient.IsError(misuse));
        Assert.Contains("already used for a different call", ConversationHttpClient.Text(misuse), StringComparison.Ordinal);
        var state = await ReadAsync(client);
        Assert.Equal(1, state["hits"]!.GetValue<long>());
        Assert.Equal(["a"], state["log"]!.AsArray().Select(e => e!.GetValue<string>()));
    }

    [Fact]
    public async Task ABatchWithOneBadWrite_AppliesNone()
    {
        await using var server = await StartAsync();
        using var http = server.CreateHttpClient();
        var client = new ConversationHttpClient(http, server.McpUri);
        await client.OpenAsync(Token);
        await client.CallAsync("tally_count", new JsonObject { ["delta"] = 1 }, Token);

        var bad = await client.CallAsync("tally_bad_batch", new JsonObject(), Token);

        Assert.True(ConversationHttpClient.IsError(bad));
        Assert.Contains("did not declare the state key 'undeclared'", ConversationHttpClient.Text(bad), StringComparison.Ordinal);
        Assert.Equal(1, (await ReadAsync(client))["hits"]!.GetValue<long>());
    }

    [Fact]
    public async Task AStaleExclusiveWrite_IsAConflictNamingTheKeyAndBothVersions()
    {
        await using var server = await StartAsync();
        using var http = server.CreateHttpClient();
        var client = new ConversationHttpClient(http, server.McpUri);
        await client.OpenAsync(Token);

        // Two bumps that both read version 0: whichever commits second is stale.
        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => client.CallAsync("tally_bump", new JsonObject(), Token)));
        var conflicts = results.Where(ConversationHttpClient.IsError).Select(ConversationHttpClient.Text).ToList();
        var state = await ReadAsync(client);

        Assert.Equal(results.Length - conflicts.Count, state["x"]!.GetValue<long>());
        Assert.All(conflicts, text => Assert.Matches(@"State conflict: key 'x' is at version \d+, but this call expected version \d+", text));
    }
}
