using System.Text.Json.Nodes;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Conversations;

/// <summary>With <c>ListFollowsState</c>, legacy sessions see the tools their state allows; 2026-07-28 lists never vary.</summary>
[Collection(ConversationServerTests.Name)]
public sealed class ConversationToolListTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ALegacySession_SeesTheToolsItsStateAllows_AndGetsListChangedOnATransition()
    {
        await using var server = await SwitchboardTestServer.StartAsync(
            configuration: new Dictionary<string, string?> { ["Switchboard:Conversations:ListFollowsState"] = "true" },
            cancellationToken: Token);
        var transport = new HttpClientTransport(new HttpClientTransportOptions { Endpoint = server.McpUri, TransportMode = HttpTransportMode.StreamableHttp });
        await using var client = await McpClient.CreateAsync(transport, new McpClientOptions { ProtocolVersion = McpHttp.Legacy }, cancellationToken: Token);
        await using var changes = new ListChangedCounter(client);
        await changes.WaitForStreamAsync(server);
        var seen = changes.Count;

        var before = (await client.ListToolsAsync(cancellationToken: Token)).Select(t => t.Name).ToList();
        Assert.Contains("orders_find_order", before);
        Assert.DoesNotContain("orders_request_refund", before);
        Assert.DoesNotContain("orders_confirm_refund", before);
        Assert.Contains("support_view_case", before);

        var found = await client.CallToolAsync("orders_find_order", new Dictionary<string, object?> { ["orderId"] = "A-1001" }, cancellationToken: Token);
        Assert.NotEqual(true, found.IsError);
        await changes.WaitForMoreThanAsync(seen);

        var after = (await client.ListToolsAsync(cancellationToken: Token)).Select(t => t.Name).ToList();
        Assert.Contains("orders_request_refund", after);
        Assert.DoesNotContain("orders_confirm_refund", after);

        // A 2026-07-28 list of the same server lists every tool, whatever any conversation's state.
        using var http = server.CreateHttpClient();
        var modern = await McpHttp.SendAsync(http, McpHttp.ModernRequest(server.McpUri, "tools/list", new JsonObject()), Token);
        var names = modern.Result["tools"]!.AsArray().Select(t => t!["name"]!.GetValue<string>()).ToList();
        Assert.Contains("orders_request_refund", names);
        Assert.Contains("orders_confirm_refund", names);
    }
}
