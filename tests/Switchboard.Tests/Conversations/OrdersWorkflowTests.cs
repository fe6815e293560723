using System.Text.Json.Nodes;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Conversations;

/// <summary>The <c>orders</c> and <c>support</c> samples end to end over 2026-07-28 HTTP, on the real server.</summary>
[Collection(ConversationServerTests.Name)]
public sealed class OrdersWorkflowTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task OutOfOrderCalls_AreRefusedWithGuidance_AndTheRightOrderSucceeds_AcrossARestart()
    {
        using var data = new TemporaryDirectory();
        string handle;

        // Handles are signed for this server's issuer, which defaults to its listen address; each test server gets a
        // new port, so the issuer is pinned as an operator would pin it for a server whose address may change.
        var stableIssuer = new Dictionary<string, string?> { ["Switchboard:Security:Issuer"] = "https://switchboard.test" };
        await using (var first = await SwitchboardTestServer.StartAsync(configuration: stableIssuer, dataDirectory: data, cancellationToken: Token))
        {
            using var http = first.CreateHttpClient();
            var client = new ConversationHttpClient(http, first.McpUri);
            handle = await client.OpenAsync(Token);

            var refund = await client.CallAsync("orders_request_refund", new JsonObject { ["amount"] = 10 }, Token);
            Assert.True(ConversationHttpClient.IsError(refund));
            var refusal = ConversationHttpClient.Text(refund);
            Assert.Contains("'orders_request_refund' cannot run now", refusal, StringComparison.Ordinal);
            Assert.Contains("in state 'start'", refusal, StringComparison.Ordinal);
            Assert.Contains("Tools that lead on from here: orders_find_order", refusal, StringComparison.Ordinal);

            var confirm = await client.CallAsync("orders_confirm_refund", new JsonObject(), Token);
            Assert.True(ConversationHttpClient.IsError(confirm));

            var found = await client.CallAsync("orders_find_order", new JsonObject { ["orderId"] = "A-1001" }, Token);
            Assert.False(ConversationHttpClient.IsError(found));
            // The sample's results pass the default data policy like any plugin's: the customer's address reaches the
            // model masked.
            Assert.Equal("a***@example.com", found["structuredContent"]!["customerEmail"]!.GetValue<string>());
            Assert.Equal(handle, found["_meta"]![Switchboard.Conversations.ConversationProtocol.HandleMetaKey]!.GetValue<string>());
        }

        await using var second = await SwitchboardTestServer.StartAsync(configuration: stableIssuer, dataDirectory: data, cancellationToken: Token);
        using var http2 = second.CreateHttpClient();
        var again = new ConversationHttpClient(http2, second.McpUri) { Handle = handle };

        // After the restart the conversation is still past find_order: confirming is refused, with the next step named.
        var early = await again.CallAsync("orders_confirm_refund", new JsonObject(), Token);
        Assert.True(ConversationHttpClient.IsError(early));
        Assert.Contains("in state 'order_found'", ConversationHttpClient.Text(early), StringComparison.Ordinal);
        Assert.Contains("orders_request_refund", ConversationHttpClient.Text(early), StringComparison.Ordinal);

        var tooMuch = await again.CallAsync("orders_request_refund", new JsonObject { ["amount"] = 1000 }, Token);
        Assert.True(ConversationHttpClient.IsError(tooMuch));
        Assert.Contains("at most the order total, 42.50 EUR", ConversationHttpClient.Text(tooMuch), StringComparison.Ordinal);

        var requested = await again.CallAsync("orders_request_refund", new JsonObject { ["amount"] = 10 }, Token);
        Assert.False(ConversationHttpClient.IsError(requested), ConversationHttpClient.Text(requested));
        var confirmed = await again.CallAsync("orders_confirm_refund", new JsonObject(), Token);
        Assert.Equal("Refunded 10.00 EUR on order A-1001.", ConversationHttpClient.Text(confirmed));

        var refundAgain = await again.CallAsync("orders_confirm_refund", new JsonObject(), Token);
        Assert.True(ConversationHttpClient.IsError(refundAgain));
        Assert.Contains("in state 'refunded'", ConversationHttpClient.Text(refundAgain), StringComparison.Ordinal);

        var view = await again.CallAsync("support_view_case", new JsonObject(), Token);
        Assert.Equal("refunded", view["structuredContent"]!["status"]!.GetValue<string>());
        Assert.Equal(["refund"], view["structuredContent"]!["tags"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Equal(
            ["orders: looked up A-1001", "orders: refund of 10.00 EUR requested on A-1001", "orders: refunded 10.00 EUR on A-1001"],
            view["structuredContent"]!["history"]!.AsArray().Select(t => t!.GetValue<string>()));
    }

    [Fact]
    public async Task SharedKeys_TagsMerge_AndAStaleStatusWriteIsAConflictTheModelCanResolve()
    {
        await using var server = await SwitchboardTestServer.StartAsync(cancellationToken: Token);
        using var http = server.CreateHttpClient();
        var client = new ConversationHttpClient(http, server.McpUri);
        await client.OpenAsync(Token);

        await client.CallAsync("orders_find_order", new JsonObject { ["orderId"] = "A-1002" }, Token);
        var before = await client.CallAsync("support_view_case", new JsonObject(), Token);
        Assert.Equal(0, before["structuredContent"]!["statusVersion"]!.GetValue<long>());
        await client.CallAsync("support_tag_case", new JsonObject { ["tag"] = "vip" }, Token);

        // orders changes the status after support read it.
        await client.CallAsync("orders_request_refund", new JsonObject { ["amount"] = 20 }, Token);

        var stale = await client.CallAsync("support_set_status", new JsonObject { ["status"] = "escalated", ["expectedVersion"] = 0 }, Token);
        Assert.True(ConversationHttpClient.IsError(stale));
        Assert.Contains("State conflict: key 'case.status' is at version 1, but this call expected version 0", ConversationHttpClient.Text(stale), StringComparison.Ordinal);

        var after = await client.CallAsync("support_view_case", new JsonObject(), Token);
        Assert.Equal("refund_requested", after["structuredContent"]!["status"]!.GetValue<string>());
        Assert.Equal(["vip", "refund"], after["structuredContent"]!["tags"]!.AsArray().Select(t => t!.GetValue<string>()));

        var retried = await client.CallAsync("support_set_status", new JsonObject { ["status"] = "escalated", ["expectedVersion"] = 1 }, Token);
        Assert.False(ConversationHttpClient.IsError(retried), ConversationHttpClient.Text(retried));
        var final = await client.CallAsync("support_view_case", new JsonObject(), Token);
        Assert.Equal("escalated", final["structuredContent"]!["status"]!.GetValue<string>());
        Assert.Equal(2, final["structuredContent"]!["statusVersion"]!.GetValue<long>());
    }

    [Fact]
    public async Task ClientsThatCannotSetMeta_PassTheHandleAsAnArgument_WhichThePluginNeverSees()
    {
        await using var server = await SwitchboardTestServer.StartAsync(cancellationToken: Token);
        using var http = server.CreateHttpClient();
        var handle = await new ConversationHttpClient(http, server.McpUri).OpenAsync(Token);
        var client = new ConversationHttpClient(http, server.McpUri);

        var found = await client.CallAsync("orders_find_order", new JsonObject { ["orderId"] = "A-1003", ["conversation_handle"] = handle }, Token);
        var refund = await client.CallAsync("orders_request_refund", new JsonObject { ["amount"] = 15, ["conversation_handle"] = handle }, Token);

        var list = await McpHttp.SendAsync(http, McpHttp.ModernRequest(server.McpUri, "tools/list", new JsonObject()), Token);
        var tools = list.Result["tools"]!.AsArray().ToDictionary(t => t!["name"]!.GetValue<string>(), t => t!["inputSchema"]!["properties"]!.AsObject());
        Assert.True(tools["orders_find_order"].ContainsKey("conversation_handle"));
        Assert.False(tools["text_echo"].ContainsKey("conversation_handle"));

        Assert.False(ConversationHttpClient.IsError(found), ConversationHttpClient.Text(found));
        Assert.Equal("Refund of 15.00 GBP on order A-1003 requested. Call confirm_refund to carry it out.", ConversationHttpClient.Text(refund));
    }

    [Fact]
    public async Task AStatefulTool_WithoutAConversation_IsRefusedWithHowToOpenOne()
    {
        await using var server = await SwitchboardTestServer.StartAsync(cancellationToken: Token);
        using var http = server.CreateHttpClient();
        var client = new ConversationHttpClient(http, server.McpUri);

        var result = await client.CallAsync("orders_find_order", new JsonObject { ["orderId"] = "A-1001" }, Token);

        Assert.True(ConversationHttpClient.IsError(result));
        Assert.Contains("Call conversation_open", ConversationHttpClient.Text(result), StringComparison.Ordinal);
    }
}
