using System.Net;
using System.Text.Json.Nodes;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Switchboard.Tests.TestSupport;
using Switchboard.Transports.Mcp;

namespace Switchboard.Tests.Transports.Mcp;

/// <summary>The MCP endpoint over real Kestrel, both protocol eras, seen on the wire.</summary>
public sealed class StreamableHttpTests : IAsyncLifetime
{
    private SwitchboardTestServer _server = null!;
    private HttpClient _http = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await SwitchboardTestServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        _http = _server.CreateHttpClient();
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    private Task<McpHttpResponse> SendModernAsync(string method, JsonObject? parameters = null, object? id = null)
        => McpHttp.SendAsync(_http, McpHttp.ModernRequest(_server.McpUri, method, parameters, id), TestContext.Current.CancellationToken);

    [Fact]
    public async Task Discover_ListsEveryServedVersion_AndTheUnsupportedVersionErrorListsNoOther()
    {
        var discover = await SendModernAsync("server/discover");
        var advertised = discover.Result["supportedVersions"]!.AsArray().Select(v => v!.GetValue<string>()).ToList();
        Assert.Equal(ProtocolVersions.Supported, advertised);

        var request = McpHttp.Post(_server.McpUri, """{"jsonrpc":"2.0","id":9,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2099-01-01","io.modelcontextprotocol/clientCapabilities":{}}}}""", protocolVersion: "2099-01-01");
        request.Headers.Add("Mcp-Method", "tools/list");
        var refused = await McpHttp.SendAsync(_http, request, TestContext.Current.CancellationToken);

        Assert.Equal(400, refused.Status);
        Assert.Equal(-32022, refused.ErrorCode);
        var supported = refused.Error["data"]!["supported"]!.AsArray().Select(v => v!.GetValue<string>()).ToList();
        Assert.NotEmpty(supported);
        Assert.All(supported, v => Assert.Contains(v, advertised));
        Assert.Equal("2099-01-01", refused.Error["data"]!["requested"]!.GetValue<string>());
    }

    [Fact]
    public async Task Discover_IdentifiesTheServerAndDeclaresTools()
    {
        var discover = await SendModernAsync("server/discover");
        Assert.Equal("switchboard", discover.Result["_meta"]!["io.modelcontextprotocol/serverInfo"]!["name"]!.GetValue<string>());
        Assert.NotNull(discover.Result["capabilities"]!["tools"]);
    }

    [Fact]
    public async Task ModernToolsList_IsSortedStableAndCarriesCacheHints()
    {
        var first = await SendModernAsync("tools/list");
        var second = await SendModernAsync("tools/list", id: 2);
        var names = first.Result["tools"]!.AsArray().Select(t => t!["name"]!.GetValue<string>()).ToList();

        Assert.Equal(Switchboard.Tests.Interop.SwitchboardServeFixture.SampleTools, names);
        Assert.Equal(names, second.Result["tools"]!.AsArray().Select(t => t!["name"]!.GetValue<string>()));
        Assert.Equal("complete", first.Result["resultType"]!.GetValue<string>());
        Assert.NotNull(first.Result["ttlMs"]);
        Assert.NotNull(first.Result["cacheScope"]);
        Assert.Null(first.SessionId);
        Assert.All(names, n => Assert.Matches("^[A-Za-z0-9_-]{1,64}$", n));
    }

    [Theory]
    [InlineData("hello")]
    [InlineData("héllo 世界 👋")]
    [InlineData("  spaces\tand\nlines  ")]
    [InlineData("")]
    public async Task ModernEcho_ReturnsTheTextUnchanged(string text)
    {
        var response = await SendModernAsync("tools/call", new JsonObject { ["name"] = "text_echo", ["arguments"] = new JsonObject { ["text"] = text } });

        Assert.Equal(200, response.Status);
        Assert.Null(response.Result["isError"]);
        Assert.Equal(text, response.Result["content"]![0]!["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task WordCount_ReturnsStructuredContentMatchingItsText()
    {
        var response = await SendModernAsync("tools/call", new JsonObject { ["name"] = "text_word_count", ["arguments"] = new JsonObject { ["text"] = "one two\nthree 你好" } });

        var structured = response.Result["structuredContent"]!;
        Assert.Equal(5, structured["words"]!.GetValue<int>());
        Assert.Equal(2, structured["lines"]!.GetValue<int>());
        Assert.Equal(16, structured["characters"]!.GetValue<int>());
    }

    [Fact]
    public async Task LegacySession_InitializeListCallAndDelete()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var session = await McpHttp.InitializeLegacySessionAsync(_http, _server.McpUri, cancellationToken);

        var list = await McpHttp.SendAsync(_http, McpHttp.Post(_server.McpUri, """{"jsonrpc":"2.0","id":2,"method":"tools/list"}""", session, McpHttp.Legacy), cancellationToken);
        Assert.Contains("text_echo", list.Result["tools"]!.AsArray().Select(t => t!["name"]!.GetValue<string>()));
        Assert.Null(list.Result["resultType"]);

        var call = await McpHttp.SendAsync(
            _http,
            McpHttp.Post(_server.McpUri, """{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"text_echo","arguments":{"text":"legacy"}}}""", session, McpHttp.Legacy),
            cancellationToken);
        Assert.Equal("legacy", call.Result["content"]![0]!["text"]!.GetValue<string>());

        using var delete = new HttpRequestMessage(HttpMethod.Delete, _server.McpUri);
        delete.Headers.Add("Mcp-Session-Id", session);
        delete.Headers.Add("MCP-Protocol-Version", McpHttp.Legacy);
        using (var deleted = await _http.SendAsync(delete, cancellationToken))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }

        var afterDelete = await McpHttp.SendAsync(_http, McpHttp.Post(_server.McpUri, """{"jsonrpc":"2.0","id":4,"method":"tools/list"}""", session, McpHttp.Legacy), cancellationToken);
        Assert.Equal(404, afterDelete.Status);
    }

    [Fact]
    public async Task LegacyRequestWithoutSession_IsRefused()
    {
        var response = await McpHttp.SendAsync(_http, McpHttp.Post(_server.McpUri, """{"jsonrpc":"2.0","id":1,"method":"tools/list"}"""), TestContext.Current.CancellationToken);
        Assert.Equal(400, response.Status);
    }

    [Fact]
    public async Task ModernGet_IsNotAllowed()
    {
        using var get = new HttpRequestMessage(HttpMethod.Get, _server.McpUri);
        get.Headers.Add("MCP-Protocol-Version", McpHttp.Modern);
        get.Headers.Accept.ParseAdd("text/event-stream");
        using var response = await _http.SendAsync(get, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("2025-11-25")]
    public async Task CSharpSdkClient_ListsAndCallsInBothEras(string? pinnedVersion)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var transport = new HttpClientTransport(new HttpClientTransportOptions { Endpoint = _server.McpUri, TransportMode = HttpTransportMode.StreamableHttp });
        await using var client = await McpClient.CreateAsync(transport, new McpClientOptions { ProtocolVersion = pinnedVersion }, cancellationToken: cancellationToken);

        Assert.Equal(pinnedVersion ?? McpHttp.Modern, client.NegotiatedProtocolVersion);
        var tools = await client.ListToolsAsync(cancellationToken: cancellationToken);
        Assert.Equal(Switchboard.Tests.Interop.SwitchboardServeFixture.SampleTools, tools.Select(t => t.Name));

        var result = await client.CallToolAsync("text_echo", new Dictionary<string, object?> { ["text"] = "from c#" }, cancellationToken: cancellationToken);
        Assert.Equal("from c#", Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text);
    }

    [Fact]
    public async Task ManyConcurrentCalls_EachGetTheirOwnAnswer()
    {
        var calls = Enumerable.Range(0, 50).Select(async i =>
        {
            var response = await SendModernAsync("tools/call", new JsonObject { ["name"] = "text_echo", ["arguments"] = new JsonObject { ["text"] = $"call {i}" } }, id: i);
            return (i, text: response.Result["content"]![0]!["text"]!.GetValue<string>(), id: response.Message!["id"]!.GetValue<int>());
        });

        foreach (var (i, text, id) in await Task.WhenAll(calls))
        {
            Assert.Equal($"call {i}", text);
            Assert.Equal(i, id);
        }
    }
}
