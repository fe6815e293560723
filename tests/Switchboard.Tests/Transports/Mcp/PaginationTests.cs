using System.Text.Json.Nodes;
using ModelContextProtocol.Client;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Transports.Mcp;

/// <summary>tools/list paging over the wire, with a page size of one.</summary>
public sealed class PaginationTests : IAsyncLifetime
{
    private SwitchboardTestServer _server = null!;
    private HttpClient _http = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await SwitchboardTestServer.StartAsync(
            configuration: new Dictionary<string, string?> { ["Switchboard:Tools:ListPageSize"] = "1" },
            cancellationToken: TestContext.Current.CancellationToken);
        _http = _server.CreateHttpClient();
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task ToolsList_WalksEveryPageByOpaqueCursor()
    {
        var names = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var parameters = cursor is null ? new JsonObject() : new JsonObject { ["cursor"] = cursor };
            var page = await McpHttp.SendAsync(_http, McpHttp.ModernRequest(_server.McpUri, "tools/list", parameters), TestContext.Current.CancellationToken);
            var tools = page.Result["tools"]!.AsArray();
            Assert.Single(tools);
            names.Add(tools[0]!["name"]!.GetValue<string>());
            cursor = page.Result["nextCursor"]?.GetValue<string>();
            pages++;
        }
        while (cursor is not null && pages < 20);

        Assert.Equal(Switchboard.Tests.Interop.SwitchboardServeFixture.SampleTools, names);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("dDE6")]
    public async Task ToolsList_InvalidCursor_IsInvalidParams(string cursor)
    {
        var response = await McpHttp.SendAsync(_http, McpHttp.ModernRequest(_server.McpUri, "tools/list", new JsonObject { ["cursor"] = cursor }), TestContext.Current.CancellationToken);
        Assert.Equal(-32602, response.ErrorCode);
    }

    [Fact]
    public async Task SdkClient_FollowsCursorsToTheEnd()
    {
        var transport = new HttpClientTransport(new HttpClientTransportOptions { Endpoint = _server.McpUri });
        await using var client = await McpClient.CreateAsync(transport, cancellationToken: TestContext.Current.CancellationToken);
        var tools = await client.ListToolsAsync(cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(Switchboard.Tests.Interop.SwitchboardServeFixture.SampleTools.Length, tools.Count);
    }
}
