using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Switchboard.Hosting;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Transports.Http;

/// <summary>
/// Every kind of bad input gets the error the specification prescribes, and the server keeps serving afterwards (each
/// test ends with a good call on the same server).
/// </summary>
public sealed class BadInputTests : IAsyncLifetime
{
    private const long BodyLimit = 64 * 1024;
    private SwitchboardTestServer _server = null!;
    private HttpClient _http = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await SwitchboardTestServer.StartAsync(
            configure: b => b.AddPlugin<ProbeTools>(ProbeTools.PluginName, "1.0.0"),
            configuration: new Dictionary<string, string?> { ["Switchboard:Http:MaxRequestBodyBytes"] = BodyLimit.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            cancellationToken: TestContext.Current.CancellationToken);
        _server.Services.GetType(); // keep the server referenced
        _http = _server.CreateHttpClient();
    }

    public async ValueTask DisposeAsync()
    {
        await AssertStillServingAsync();
        _http.Dispose();
        await _server.DisposeAsync();
    }

    private async Task AssertStillServingAsync()
    {
        var response = await McpHttp.SendAsync(
            _http,
            McpHttp.ModernRequest(_server.McpUri, "tools/call", new JsonObject { ["name"] = "text_echo", ["arguments"] = new JsonObject { ["text"] = "still here" } }),
            CancellationToken.None);
        Assert.Equal("still here", response.Result["content"]![0]!["text"]!.GetValue<string>());
    }

    private Task<McpHttpResponse> PostRawAsync(string body, string? protocolVersion = null)
        => McpHttp.SendAsync(_http, McpHttp.Post(_server.McpUri, body, protocolVersion: protocolVersion), TestContext.Current.CancellationToken);

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,""", "malformed JSON")]
    [InlineData("""[{"jsonrpc":"2.0","id":1,"method":"ping"}]""", "a JSON-RPC batch (removed from MCP)")]
    [InlineData("""{"jsonrpc":"1.0","id":1,"method":"initialize","params":{}}""", "wrong jsonrpc version")]
    [InlineData("""{"id":1,"method":"tools/list"}""", "missing jsonrpc member")]
    [InlineData("not json at all", "not JSON")]
    public async Task InvalidJsonRpc_Is400InvalidRequest(string body, string because)
    {
        var response = await PostRawAsync(body);
        Assert.True(response.Status == 400, because);
        Assert.Equal(-32600, response.ErrorCode);
        var message = response.Error["message"]!.GetValue<string>();
        Assert.DoesNotContain("   at ", message, StringComparison.Ordinal);
        Assert.DoesNotContain(".cs:line", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownMethod_Modern_Is404MethodNotFound()
    {
        var response = await McpHttp.SendAsync(_http, McpHttp.ModernRequest(_server.McpUri, "foo/bar"), TestContext.Current.CancellationToken);
        Assert.Equal(404, response.Status);
        Assert.Equal(-32601, response.ErrorCode);
    }

    [Fact]
    public async Task UnknownMethod_Legacy_IsMethodNotFound()
    {
        var session = await McpHttp.InitializeLegacySessionAsync(_http, _server.McpUri, TestContext.Current.CancellationToken);
        var response = await McpHttp.SendAsync(_http, McpHttp.Post(_server.McpUri, """{"jsonrpc":"2.0","id":5,"method":"foo/bar"}""", session, McpHttp.Legacy), TestContext.Current.CancellationToken);
        Assert.Equal(-32601, response.ErrorCode);
    }

    [Fact]
    public async Task UnknownTool_IsInvalidParamsNamingTheTool()
    {
        var response = await McpHttp.SendAsync(_http, McpHttp.ModernRequest(_server.McpUri, "tools/call", new JsonObject { ["name"] = "text_nope", ["arguments"] = new JsonObject() }), TestContext.Current.CancellationToken);
        Assert.Equal(-32602, response.ErrorCode);
        Assert.Contains("text_nope", response.Error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"text":42}""", "argument 'text' must be a string")]
    [InlineData("""{}""", "missing required argument 'text'")]
    [InlineData("""{"text":["a"]}""", "argument 'text' must be a string")]
    public async Task WrongArguments_AreAToolErrorTheModelCanFix(string arguments, string expected)
    {
        var response = await McpHttp.SendAsync(
            _http,
            McpHttp.ModernRequest(_server.McpUri, "tools/call", new JsonObject { ["name"] = "text_echo", ["arguments"] = JsonNode.Parse(arguments) }),
            TestContext.Current.CancellationToken);

        Assert.Equal(200, response.Status);
        Assert.True(response.Result["isError"]!.GetValue<bool>());
        Assert.Contains(expected, response.Result["content"]![0]!["text"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ToolThatThrows_IsAToolErrorWithoutSecretsOrStackTrace()
    {
        var response = await McpHttp.SendAsync(_http, McpHttp.ModernRequest(_server.McpUri, "tools/call", new JsonObject { ["name"] = "probe_explode", ["arguments"] = new JsonObject() }), TestContext.Current.CancellationToken);

        Assert.True(response.Result["isError"]!.GetValue<bool>());
        Assert.DoesNotContain("secret-token", response.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("/home/user", response.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("InvalidOperationException", response.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BodyOverLimit_WithContentLength_Is413()
    {
        var body = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"text_echo\",\"arguments\":{\"text\":\"" + new string('a', (int)BodyLimit) + "\"}}}";
        var response = await PostRawAsync(body, McpHttp.Modern);
        Assert.Equal(413, response.Status);
        Assert.Equal(-32600, response.ErrorCode);
    }

    [Fact]
    public async Task BodyOverLimit_Chunked_Is413()
    {
        var body = Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"text_echo\",\"arguments\":{\"text\":\"" + new string('a', (int)BodyLimit * 2) + "\"}}}");
        using var request = new HttpRequestMessage(HttpMethod.Post, _server.McpUri) { Content = new StreamContent(new NonSeekableStream(body)) };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.Accept.ParseAdd("application/json");
        request.Headers.Accept.ParseAdd("text/event-stream");
        request.Headers.TransferEncodingChunked = true;

        using var response = await _http.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task BodyJustUnderLimit_IsServed()
    {
        var text = new string('b', (int)BodyLimit - 400);
        var response = await McpHttp.SendAsync(_http, McpHttp.ModernRequest(_server.McpUri, "tools/call", new JsonObject { ["name"] = "text_echo", ["arguments"] = new JsonObject { ["text"] = text } }), TestContext.Current.CancellationToken);
        Assert.Equal(text, response.Result["content"]![0]!["text"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("http://evil.example.com")]
    [InlineData("null")]
    [InlineData("http://127.0.0.1.evil.example.com")]
    [InlineData("http://localhost:1")]
    public async Task DisallowedOrigin_Is403(string origin)
    {
        var request = McpHttp.ModernRequest(_server.McpUri, "tools/list");
        request.Headers.Add("Origin", origin);
        var response = await McpHttp.SendAsync(_http, request, TestContext.Current.CancellationToken);
        Assert.Equal(403, response.Status);
    }

    [Fact]
    public async Task OwnOrigin_IsAllowed()
    {
        var request = McpHttp.ModernRequest(_server.McpUri, "tools/list");
        request.Headers.Add("Origin", $"http://localhost:{_server.BaseUri.Port}");
        var response = await McpHttp.SendAsync(_http, request, TestContext.Current.CancellationToken);
        Assert.Equal(200, response.Status);
    }

    [Theory]
    [InlineData("evil.example.com")]
    [InlineData("127.0.0.1.nip.io")]
    public async Task ForeignHost_IsRefused(string host)
    {
        var request = McpHttp.ModernRequest(_server.McpUri, "tools/list");
        request.Headers.Host = $"{host}:{_server.BaseUri.Port}";
        var response = await McpHttp.SendAsync(_http, request, TestContext.Current.CancellationToken);
        Assert.Equal(400, response.Status);
    }

    [Fact]
    public async Task MismatchedMcpName_IsHeaderMismatch()
    {
        var request = McpHttp.ModernRequest(_server.McpUri, "tools/call", new JsonObject { ["name"] = "text_echo", ["arguments"] = new JsonObject { ["text"] = "x" } }, name: "clock_now");
        var response = await McpHttp.SendAsync(_http, request, TestContext.Current.CancellationToken);
        Assert.Equal(400, response.Status);
        Assert.Equal(-32020, response.ErrorCode);
    }

    [Fact]
    public async Task MissingMcpMethodHeader_Modern_IsRefused()
    {
        var request = McpHttp.ModernRequest(_server.McpUri, "tools/list");
        request.Headers.Remove("Mcp-Method");
        var response = await McpHttp.SendAsync(_http, request, TestContext.Current.CancellationToken);
        Assert.Equal(400, response.Status);
        Assert.Equal(-32020, response.ErrorCode);
    }

    [Fact]
    public async Task NotAcceptingEventStream_Is406()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _server.McpUri) { Content = new StringContent("""{"jsonrpc":"2.0","id":1,"method":"ping"}""", Encoding.UTF8, "application/json") };
        request.Headers.Accept.ParseAdd("application/json");
        using var response = await _http.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotAcceptable, response.StatusCode);
    }

    /// <summary>Forces HttpClient to send a chunked body (no Content-Length).</summary>
    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
