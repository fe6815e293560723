using System.Text.Json.Nodes;
using Switchboard.Conversations;
using Switchboard.Tests.Plugins.Upstreams;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Conversations;

/// <summary>
/// An upstream plugin (tests/interop/upstreams/stateful.mjs) declares its keys and workflow in configuration, reads a
/// snapshot in the request's <c>_meta</c> and returns its writes in the result's <c>_meta</c>.
/// </summary>
[Collection(ConversationServerTests.Name)]
public sealed class UpstreamConversationTests
{
    private const string Prefix = "Switchboard:Upstreams:stateful:Conversation:";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AConfiguredWorkflowGatesTheUpstream_AndItsMetaWritesAreAppliedAtomically()
    {
        UpstreamConfig.RequireNode();
        var configuration = UpstreamConfig.Stdio("stateful", Path.Combine(NodeTooling.InteropDirectory, "upstreams", "stateful.mjs"))
            .With(Prefix + "Keys:0:Key", "items").With(Prefix + "Keys:0:Policy", "set")
            .With(Prefix + "Keys:1:Key", "count").With(Prefix + "Keys:1:Policy", "counter")
            .With(Prefix + "Keys:2:Key", "status")
            .With(Prefix + "Workflow:InitialState", "shopping")
            .With(Prefix + "Workflow:States:shopping:Transitions:0:Tool", "add_item")
            .With(Prefix + "Workflow:States:shopping:Transitions:0:To", "ready")
            .With(Prefix + "Workflow:States:ready:Allow:0", "add_item")
            .With(Prefix + "Workflow:States:ready:Transitions:0:Tool", "checkout")
            .With(Prefix + "Workflow:States:ready:Transitions:0:To", "paid")
            .With(Prefix + "Workflow:States:ready:Transitions:0:When:0", "count >= 2")
            .With(Prefix + "Workflow:States:paid:Transitions:0:Tool", "add_item")
            .With(Prefix + "Workflow:States:paid:Transitions:0:To", "ready");
        await using var server = await SwitchboardTestServer.StartAsync(configuration: configuration, cancellationToken: Token);
        using var http = server.CreateHttpClient();
        var client = new ConversationHttpClient(http, server.McpUri);
        await client.OpenAsync(Token);

        var early = await client.CallAsync("stateful_checkout", new JsonObject(), Token);
        Assert.True(ConversationHttpClient.IsError(early));
        Assert.Contains("in state 'shopping'", ConversationHttpClient.Text(early), StringComparison.Ordinal);
        Assert.Contains("Tools that lead on from here: stateful_add_item", ConversationHttpClient.Text(early), StringComparison.Ordinal);

        await client.CallAsync("stateful_add_item", new JsonObject { ["item"] = "apple" }, Token);
        var guarded = await client.CallAsync("stateful_checkout", new JsonObject(), Token);
        Assert.True(ConversationHttpClient.IsError(guarded));
        Assert.Contains("count >= 2", ConversationHttpClient.Text(guarded), StringComparison.Ordinal);

        var added = await client.CallAsync("stateful_add_item", new JsonObject { ["item"] = "pear" }, Token);
        Assert.Null(added["_meta"]?[ConversationProtocol.StateWritesMetaKey]);
        var bad = await client.CallAsync("stateful_bad_write", new JsonObject(), Token);
        Assert.True(ConversationHttpClient.IsError(bad));

        var snapshot = JsonNode.Parse(ConversationHttpClient.Text(await client.CallAsync("stateful_peek", new JsonObject(), Token)))!;
        Assert.Equal("ready", snapshot["workflowState"]!.GetValue<string>());
        Assert.Equal(["apple", "pear"], snapshot["keys"]!["items"]!["value"]!.AsArray().Select(i => i!.GetValue<string>()));
        Assert.Equal(2, snapshot["keys"]!["count"]!["value"]!.GetValue<long>());
        Assert.Equal("counter", snapshot["keys"]!["count"]!["policy"]!.GetValue<string>());

        var paid = await client.CallAsync("stateful_checkout", new JsonObject(), Token);
        Assert.Equal("checked out 2 items", ConversationHttpClient.Text(paid));
        var after = JsonNode.Parse(ConversationHttpClient.Text(await client.CallAsync("stateful_peek", new JsonObject(), Token)))!;
        Assert.Equal("paid", after["workflowState"]!.GetValue<string>());
        Assert.Equal("paid", after["keys"]!["status"]!["value"]!.GetValue<string>());
    }
}
