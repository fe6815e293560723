using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Hosting;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Transports.Rest;

/// <summary>One server with the probe plugin and a small body limit, shared by the call tests (they change no state).</summary>
public sealed class RestCallServerFixture : IAsyncLifetime
{
    public const long BodyLimit = 64 * 1024;

    public SwitchboardTestServer Server { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Server = await SwitchboardTestServer.StartAsync(
            configure: b =>
            {
                b.AddPlugin<ProbeTools>(ProbeTools.PluginName, "1.0.0");
                b.Services.AddSingleton(new ProbeState());
            },
            configuration: new Dictionary<string, string?> { ["Switchboard:Http:MaxRequestBodyBytes"] = BodyLimit.ToString(CultureInfo.InvariantCulture) },
            cancellationToken: TestContext.Current.CancellationToken);
        Http = Server.CreateHttpClient();
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
    }
}

/// <summary>
/// <c>POST /v1/tools/{name}/call</c>: tool results (including <c>isError</c> ones) are 200 with the MCP result;
/// protocol failures are RFC 9457 problem details. Each error test ends with a good call on the same server.
/// </summary>
public sealed class RestToolCallTests(RestCallServerFixture fixture) : IClassFixture<RestCallServerFixture>
{
    private readonly HttpClient _http = fixture.Http;

    private async Task AssertStillServingAsync()
    {
        var response = await RestHttp.CallAsync(_http, "text_echo", """{"text":"still here"}""");
        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal("still here", RestHttp.FirstText(response.Body));
    }

    [Theory]
    [InlineData("hello")]
    [InlineData("héllo wörld — 你好，世界 🎉")]
    [InlineData("line one\nline \"two\"\t\\ end")]
    public async Task Echo_ReturnsTheTextExactly(string text)
    {
        var body = new System.Text.Json.Nodes.JsonObject { ["text"] = text }.ToJsonString();

        var response = await RestHttp.CallAsync(_http, "text_echo", body);

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal("application/json", response.MediaType);
        Assert.Equal(text, RestHttp.FirstText(response.Body));
        Assert.Equal("text", response.Body["content"]![0]!["type"]!.GetValue<string>());
        Assert.NotEqual(true, response.Body["isError"]?.GetValue<bool>());
    }

    [Fact]
    public async Task WordCount_ReturnsStructuredContent()
    {
        var response = await RestHttp.CallAsync(_http, "text_word_count", """{"text":"one two\nthree 你好"}""");

        Assert.Equal(HttpStatusCode.OK, response.Status);
        var structured = response.Body["structuredContent"]!;
        Assert.Equal(5, structured["words"]!.GetValue<int>());
        Assert.Equal(2, structured["lines"]!.GetValue<int>());
        Assert.Equal(16, structured["characters"]!.GetValue<int>());
    }

    [Fact]
    public async Task EmptyBody_MeansNoArguments()
    {
        var noBody = await RestHttp.CallAsync(_http, "clock_now", body: null, contentType: null);
        var emptyJson = await RestHttp.CallAsync(_http, "clock_now", body: "", contentType: "application/json");
        var missingRequired = await RestHttp.CallAsync(_http, "text_echo", body: null, contentType: null);

        Assert.Equal(HttpStatusCode.OK, noBody.Status);
        Assert.NotEqual(true, noBody.Body["isError"]?.GetValue<bool>());
        Assert.Equal(HttpStatusCode.OK, emptyJson.Status);
        Assert.NotEqual(true, emptyJson.Body["isError"]?.GetValue<bool>());
        Assert.Equal(HttpStatusCode.OK, missingRequired.Status);
        Assert.True(missingRequired.Body["isError"]!.GetValue<bool>());
        Assert.Contains("missing required argument 'text'", RestHttp.FirstText(missingRequired.Body), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownTool_Is404Problem()
    {
        var response = await RestHttp.CallAsync(_http, "text_nope", "{}");

        var detail = RestHttp.AssertProblem(response, HttpStatusCode.NotFound, "not_found");
        Assert.Contains("text_nope", detail, StringComparison.Ordinal);
        await AssertStillServingAsync();
    }

    [Theory]
    [InlineData("text.echo")]
    [InlineData("text%20echo")]
    [InlineData("text%2Fecho")]
    [InlineData("%C3%A9cho")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public async Task InvalidToolName_Is404Problem(string escapedName)
    {
        var response = await RestHttp.CallAsync(_http, escapedName, """{"text":"x"}""");

        RestHttp.AssertProblem(response, HttpStatusCode.NotFound, "not_found");
        await AssertStillServingAsync();
    }

    [Theory]
    [InlineData("""{"text":""")]
    [InlineData("""{"text":"secret-value-123" """)]
    [InlineData("not json at all")]
    [InlineData("""{"text":"a"} {"text":"b"}""")]
    public async Task MalformedJson_Is400Problem_WithoutEchoingTheBody(string body)
    {
        var response = await RestHttp.CallAsync(_http, "text_echo", body);

        var detail = RestHttp.AssertProblem(response, HttpStatusCode.BadRequest, "invalid_json");
        Assert.Contains("not valid JSON", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-value", response.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("'n'", response.Text, StringComparison.Ordinal);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task RepeatedArgumentName_Is400Problem()
    {
        var response = await RestHttp.CallAsync(_http, "text_echo", """{"text":"harmless","text":"other"}""");

        RestHttp.AssertProblem(response, HttpStatusCode.BadRequest, "invalid_json");
        Assert.DoesNotContain("harmless", response.Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""[{"text":"a"}]""", "an array")]
    [InlineData("\"text\"", "a string")]
    [InlineData("42", "a number")]
    [InlineData("null", "null")]
    public async Task BodyThatIsNotAnObject_Is400Problem(string body, string kind)
    {
        var response = await RestHttp.CallAsync(_http, "text_echo", body);

        var detail = RestHttp.AssertProblem(response, HttpStatusCode.BadRequest, "invalid_body");
        Assert.Contains("JSON object", detail, StringComparison.Ordinal);
        Assert.Contains(kind, detail, StringComparison.Ordinal);
        await AssertStillServingAsync();
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("application/json; charset=iso-8859-1")]
    [InlineData("application/xml")]
    [InlineData(null)]
    public async Task WrongContentType_Is415Problem(string? contentType)
    {
        var response = await RestHttp.CallAsync(_http, "text_echo", """{"text":"x"}""", contentType);

        var detail = RestHttp.AssertProblem(response, HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        Assert.Contains("application/json", detail, StringComparison.Ordinal);
        await AssertStillServingAsync();
    }

    [Theory]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("application/vnd.example+json")]
    [InlineData("APPLICATION/JSON")]
    [InlineData("application/json; charset=\"UTF-8\"")]
    public async Task JsonContentTypeVariants_AreAccepted(string contentType)
    {
        var response = await RestHttp.CallAsync(_http, "text_echo", """{"text":"typed"}""", contentType);

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal("typed", RestHttp.FirstText(response.Body));
    }

    [Fact]
    public async Task BodyOverLimit_WithContentLength_Is413Problem()
    {
        var body = """{"text":" """ + new string('a', (int)RestCallServerFixture.BodyLimit) + "\"}";

        var response = await RestHttp.CallAsync(_http, "text_echo", body);

        var detail = RestHttp.AssertProblem(response, HttpStatusCode.RequestEntityTooLarge, "body_too_large");
        Assert.Contains(RestCallServerFixture.BodyLimit.ToString(CultureInfo.InvariantCulture), detail, StringComparison.Ordinal);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task BodyOverLimit_Chunked_Is413Problem()
    {
        var body = Encoding.UTF8.GetBytes("""{"text":" """ + new string('a', (int)RestCallServerFixture.BodyLimit * 2) + "\"}");
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/v1/tools/text_echo/call", UriKind.Relative))
        {
            Content = new StreamContent(new NonSeekableStream(body)),
        };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.TransferEncodingChunked = true;

        var response = await RestHttp.SendAsync(_http, request);

        RestHttp.AssertProblem(response, HttpStatusCode.RequestEntityTooLarge, "body_too_large");
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task BodyJustUnderLimit_IsServed()
    {
        var text = new string('b', (int)RestCallServerFixture.BodyLimit - 100);

        var response = await RestHttp.CallAsync(_http, "text_echo", new System.Text.Json.Nodes.JsonObject { ["text"] = text }.ToJsonString());

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal(text, RestHttp.FirstText(response.Body));
    }

    [Theory]
    [InlineData("""{"text":42}""", "argument 'text' must be a string")]
    [InlineData("""{"text":["secret-in-array"]}""", "argument 'text' must be a string")]
    [InlineData("""{"a":"one","b":2}""", "argument 'a' must be an integer")]
    public async Task WrongArgumentType_Is200IsErrorNamingTheArgument(string body, string expected)
    {
        var tool = body.Contains("\"a\"", StringComparison.Ordinal) ? "probe_add" : "text_echo";

        var response = await RestHttp.CallAsync(_http, tool, body);

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal("application/json", response.MediaType);
        Assert.True(response.Body["isError"]!.GetValue<bool>());
        Assert.Contains(expected, RestHttp.FirstText(response.Body), StringComparison.Ordinal);
        Assert.DoesNotContain("secret-in-array", response.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ToolThatThrows_Is200IsErrorWithoutSecretsOrStackTrace()
    {
        var response = await RestHttp.CallAsync(_http, "probe_explode", "{}");

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.True(response.Body["isError"]!.GetValue<bool>());
        Assert.Contains("probe_explode", RestHttp.FirstText(response.Body), StringComparison.Ordinal);
        Assert.DoesNotContain("secret-token", response.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("/home/user", response.Text, StringComparison.Ordinal);
        RestHttp.AssertNoLeaks(response.Text);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task Integers_AreAddedByTheProbeTool()
    {
        var response = await RestHttp.CallAsync(_http, "probe_add", """{"a":40,"b":2}""");

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal("42", RestHttp.FirstText(response.Body));
    }

    [Theory]
    [InlineData("GET", "/v1/tools/text_echo/call", HttpStatusCode.MethodNotAllowed, "POST")]
    [InlineData("DELETE", "/v1/tools", HttpStatusCode.MethodNotAllowed, "GET")]
    [InlineData("GET", "/v1/nothing-here", HttpStatusCode.NotFound, null)]
    [InlineData("POST", "/v1/tools/text_echo", HttpStatusCode.NotFound, null)]
    public async Task WrongMethodOrPath_IsAProblem(string method, string path, HttpStatusCode expected, string? allow)
    {
        var response = await RestHttp.SendAsync(_http, new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative)));

        RestHttp.AssertProblem(response, expected);
        if (allow is not null)
        {
            Assert.Equal([allow], response.Allow);
        }
    }

    [Fact]
    public async Task ForeignHostOrOrigin_IsRefusedByTheHttpGuard()
    {
        var foreignHost = new HttpRequestMessage(HttpMethod.Get, new Uri("/v1/tools", UriKind.Relative));
        foreignHost.Headers.Host = "evil.example.com";
        var foreignOrigin = new HttpRequestMessage(HttpMethod.Post, new Uri("/v1/tools/text_echo/call", UriKind.Relative))
        {
            Content = new StringContent("""{"text":"x"}""", Encoding.UTF8, "application/json"),
        };
        foreignOrigin.Headers.Add("Origin", "http://evil.example.com");

        var hostResponse = await RestHttp.SendAsync(_http, foreignHost);
        var originResponse = await RestHttp.SendAsync(_http, foreignOrigin);

        RestHttp.AssertProblem(hostResponse, HttpStatusCode.BadRequest, "invalid_host");
        RestHttp.AssertProblem(originResponse, HttpStatusCode.Forbidden, "origin_not_allowed");
    }

    /// <summary>Forces HttpClient to send a chunked body (no Content-Length).</summary>
    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
