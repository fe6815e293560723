using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Switchboard.Conversations;
using Switchboard.Hosting;
using Switchboard.Security;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Conversations;

/// <summary>Handles are bound to their principal, cannot be forged, expire with their state, and come implicitly on connections.</summary>
[Collection(ConversationServerTests.Name)]
public sealed class ConversationIdentityTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AHandlePresentedByAnotherPrincipal_IsRefused_WithoutSayingWhoseItIs()
    {
        await using var server = await SwitchboardTestServer.StartAsync(authenticate: true, cancellationToken: Token);
        var issuer = server.GetRequiredService<AccessTokenIssuer>();
        var alice = issuer.Issue(new TokenRequest("alice", "client-a", "tools:*")).AccessToken;
        var bob = issuer.Issue(new TokenRequest("bob", "client-b", "tools:*")).AccessToken;
        var aliceOtherClient = issuer.Issue(new TokenRequest("alice", "client-b", "tools:*")).AccessToken;
        var aliceOtherTenant = issuer.Issue(new TokenRequest("alice", "client-a", "tools:*", Tenant: "other-tenant")).AccessToken;
        using var http = server.CreateHttpClient();

        var aliceClient = new ConversationHttpClient(http, server.McpUri, alice);
        var handle = await aliceClient.OpenAsync(Token);
        var found = await aliceClient.CallAsync("orders_find_order", new JsonObject { ["orderId"] = "A-1001" }, Token);
        Assert.False(ConversationHttpClient.IsError(found), ConversationHttpClient.Text(found));

        foreach (var intruder in new[] { bob, aliceOtherClient, aliceOtherTenant })
        {
            var client = new ConversationHttpClient(http, server.McpUri, intruder) { Handle = handle };
            var refused = await client.CallAsync("orders_request_refund", new JsonObject { ["amount"] = 5 }, Token);
            Assert.True(ConversationHttpClient.IsError(refused));
            var text = ConversationHttpClient.Text(refused);
            Assert.Equal(ConversationIdentityStage.RefusedHandleMessage, text);
            Assert.DoesNotContain("alice", text, StringComparison.OrdinalIgnoreCase);
        }

        // The owner's conversation is untouched and still works.
        var refund = await aliceClient.CallAsync("orders_request_refund", new JsonObject { ["amount"] = 5 }, Token);
        Assert.False(ConversationHttpClient.IsError(refund), ConversationHttpClient.Text(refund));
    }

    [Fact]
    public async Task ForgedOrForeignHandles_AreRefused()
    {
        await using var server = await SwitchboardTestServer.StartAsync(cancellationToken: Token);
        await using var other = await SwitchboardTestServer.StartAsync(cancellationToken: Token);
        using var http = server.CreateHttpClient();
        using var otherHttp = other.CreateHttpClient();
        var handle = await new ConversationHttpClient(http, server.McpUri).OpenAsync(Token);
        var foreign = await new ConversationHttpClient(otherHttp, other.McpUri).OpenAsync(Token);

        var parts = handle.Split('.');
        var payload = JsonNode.Parse(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Decode(parts[1]))!.AsObject();
        payload["cid"] = "someone-elses-conversation";
        var tampered = $"{parts[0]}.{Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(payload.ToJsonString())}.{parts[2]}";

        foreach (var bad in new[] { tampered, foreign, "not-a-handle", handle[..^4] + "AAAA" })
        {
            var client = new ConversationHttpClient(http, server.McpUri) { Handle = bad };
            var result = await client.CallAsync("orders_find_order", new JsonObject { ["orderId"] = "A-1001" }, Token);
            Assert.True(ConversationHttpClient.IsError(result));
            Assert.Equal(ConversationIdentityStage.RefusedHandleMessage, ConversationHttpClient.Text(result));
        }
    }

    [Fact]
    public async Task AnIdleConversation_Expires_AndItsStateIsDeleted()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var server = await SwitchboardTestServer.StartAsync(
            configure: b => b.Services.AddSingleton<TimeProvider>(time),
            configuration: new Dictionary<string, string?> { ["Switchboard:Conversations:IdleTimeout"] = "00:10:00" },
            cancellationToken: Token);
        using var http = server.CreateHttpClient();
        var client = new ConversationHttpClient(http, server.McpUri);
        var handle = await client.OpenAsync(Token);
        await client.CallAsync("orders_find_order", new JsonObject { ["orderId"] = "A-1001" }, Token);
        var conversationId = (await server.GetRequiredService<ConversationHandles>().VerifyAsync(handle, Token))!.ConversationId;
        var store = server.GetRequiredService<IConversationStore>();

        // Activity within the timeout keeps it alive.
        time.Advance(TimeSpan.FromMinutes(9));
        Assert.False(ConversationHttpClient.IsError(await client.CallAsync("support_view_case", new JsonObject(), Token)));
        time.Advance(TimeSpan.FromMinutes(9));
        await server.GetRequiredService<ConversationEngine>().SweepAsync(Token);
        Assert.NotNull(await store.GetAsync(conversationId, Token));

        time.Advance(TimeSpan.FromMinutes(11));
        await server.GetRequiredService<ConversationEngine>().SweepAsync(Token);

        Assert.Null(await store.GetAsync(conversationId, Token));
        var after = await client.CallAsync("support_view_case", new JsonObject(), Token);
        Assert.True(ConversationHttpClient.IsError(after));
        Assert.Equal(ConversationIdentityStage.RefusedHandleMessage, ConversationHttpClient.Text(after));
    }

    [Fact]
    public async Task AWebSocketConnection_GetsOneConversationImplicitly()
    {
        await using var server = await SwitchboardTestServer.StartAsync(
            configure: b => b.AddPlugin<TallyTools>(TallyTools.PluginName, "1.0.0").AddConversation(TallyTools.Conversation),
            cancellationToken: Token);
        await using var socket = await McpWebSocket.ConnectAsync(server.BaseUri, Token);
        await socket.InitializeAsync(Token);

        await socket.SendAsync(McpWebSocket.Call(1, "tally_count", new JsonObject { ["delta"] = 2 }), Token);
        var (first, _) = await socket.ReceiveResponseAsync(1, Token);
        await socket.SendAsync(McpWebSocket.Call(2, "tally_count", new JsonObject { ["delta"] = 3 }), Token);
        await socket.ReceiveResponseAsync(2, Token);
        await socket.SendAsync(McpWebSocket.Call(3, "tally_read", new JsonObject()), Token);
        var (read, _) = await socket.ReceiveResponseAsync(3, Token);

        Assert.True(read["result"]?["content"]?[0]?["text"] is not null, read.ToJsonString());
        Assert.Equal(5, JsonNode.Parse(read["result"]!["content"]![0]!["text"]!.GetValue<string>())!["hits"]?.GetValue<long>());
        var handle = first["result"]!["_meta"]![ConversationProtocol.HandleMetaKey]!.GetValue<string>();

        // The implicit conversation's handle works over HTTP too (same anonymous principal).
        using var http = server.CreateHttpClient();
        var client = new ConversationHttpClient(http, server.McpUri) { Handle = handle };
        var viaHttp = await client.CallAsync("tally_read", new JsonObject(), Token);
        Assert.Equal(5, JsonNode.Parse(ConversationHttpClient.Text(viaHttp))!["hits"]!.GetValue<long>());
    }

    [Fact]
    public async Task RestCallers_CarryTheHandleInAHeader_AndIdempotencyKeysReplay()
    {
        await using var server = await SwitchboardTestServer.StartAsync(
            configure: b => b.AddPlugin<TallyTools>(TallyTools.PluginName, "1.0.0").AddConversation(TallyTools.Conversation),
            cancellationToken: Token);
        using var http = server.CreateHttpClient();
        var handle = await new ConversationHttpClient(http, server.McpUri).OpenAsync(Token);

        async Task<(HttpResponseMessage Response, JsonObject Body)> PostAsync(string tool, JsonObject arguments, string? key)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/tools/{tool}/call") { Content = new StringContent(arguments.ToJsonString(), System.Text.Encoding.UTF8, "application/json") };
            request.Headers.Add(ConversationProtocol.HandleHeader, handle);
            if (key is not null)
            {
                request.Headers.Add(ConversationProtocol.OperationHeader, key);
            }

            var response = await http.SendAsync(request, Token);
            return (response, JsonNode.Parse(await response.Content.ReadAsStringAsync(Token))!.AsObject());
        }

        var (first, _) = await PostAsync("tally_count", new JsonObject { ["delta"] = 5 }, "key-1");
        var (replay, replayBody) = await PostAsync("tally_count", new JsonObject { ["delta"] = 5 }, "key-1");
        var (_, read) = await PostAsync("tally_read", new JsonObject(), null);

        Assert.Equal(handle, first.Headers.GetValues(ConversationProtocol.HandleHeader).Single());
        Assert.True(replayBody["_meta"]!["dev.switchboard/replayed"]!.GetValue<bool>());
        Assert.Equal(5, JsonNode.Parse(read["content"]![0]!["text"]!.GetValue<string>())!["hits"]!.GetValue<long>());
        replay.Dispose();
        first.Dispose();
    }
}
