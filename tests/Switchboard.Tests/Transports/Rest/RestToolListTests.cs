using System.Net;
using System.Text;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Transports.Rest;

/// <summary><c>GET /v1/tools</c>: the caller's tools in a deterministic order, paged with opaque cursors.</summary>
public sealed class RestToolListTests
{
    private static readonly string[] s_sampleTools = Switchboard.Tests.Interop.SwitchboardServeFixture.SampleTools;

    [Fact]
    public async Task List_ReturnsTheSampleToolsInOrder_WithTheirSchemas()
    {
        await using var server = await SwitchboardTestServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        using var http = server.CreateHttpClient();

        var response = await RestHttp.GetAsync(http, "/v1/tools");

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal("application/json", response.MediaType);
        var tools = response.Body["tools"]!.AsArray();
        Assert.Equal(s_sampleTools, tools.Select(t => t!["name"]!.GetValue<string>()));
        Assert.Null(response.Body["nextCursor"]);

        var echo = tools.Single(t => t!["name"]!.GetValue<string>() == "text_echo")!.AsObject();
        Assert.Equal("Returns the given text unchanged.", echo["description"]!.GetValue<string>());
        Assert.Equal("object", echo["inputSchema"]!["type"]!.GetValue<string>());
        Assert.Equal("string", echo["inputSchema"]!["properties"]!["text"]!["type"]!.GetValue<string>());
        Assert.Null(echo["outputSchema"]);

        // Only the REST shape: MCP-only members are left out.
        Assert.All(echo, member => Assert.Contains(member.Key, new[] { "name", "title", "description", "inputSchema", "outputSchema", "annotations" }));

        var wordCount = tools.Single(t => t!["name"]!.GetValue<string>() == "text_word_count")!.AsObject();
        Assert.Equal("object", wordCount["outputSchema"]!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task List_WithPageSizeOne_WalksEveryPageWithCursors()
    {
        await using var server = await SwitchboardTestServer.StartAsync(
            configuration: new Dictionary<string, string?> { ["Switchboard:Tools:ListPageSize"] = "1" },
            cancellationToken: TestContext.Current.CancellationToken);
        using var http = server.CreateHttpClient();

        var names = new List<string>();
        string? cursor = null;
        for (var page = 0; page < 20; page++)
        {
            var response = await RestHttp.GetAsync(http, cursor is null ? "/v1/tools" : "/v1/tools?cursor=" + Uri.EscapeDataString(cursor));
            Assert.Equal(HttpStatusCode.OK, response.Status);
            var tools = response.Body["tools"]!.AsArray();
            Assert.Single(tools);
            names.Add(tools[0]!["name"]!.GetValue<string>());
            cursor = response.Body["nextCursor"]?.GetValue<string>();
            if (cursor is null)
            {
                break;
            }
        }

        Assert.Equal(s_sampleTools, names);
    }

    [Theory]
    [InlineData("not-a-cursor")]
    [InlineData("")]
    [InlineData("%00%01")]
    public async Task List_InvalidCursor_Is400Problem(string cursor)
    {
        await using var server = await SwitchboardTestServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        using var http = server.CreateHttpClient();

        var response = await RestHttp.GetAsync(http, "/v1/tools?cursor=" + cursor);

        var detail = RestHttp.AssertProblem(response, HttpStatusCode.BadRequest, "invalid_cursor");
        Assert.Contains("nextCursor", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_CursorForAnotherNamespace_Is400Problem()
    {
        await using var server = await SwitchboardTestServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        using var http = server.CreateHttpClient();
        var forged = Convert.ToBase64String(Encoding.UTF8.GetBytes("x9:text_echo")).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        var response = await RestHttp.GetAsync(http, "/v1/tools?cursor=" + forged);
        var repeated = await RestHttp.GetAsync(http, "/v1/tools?cursor=a&cursor=b");

        RestHttp.AssertProblem(response, HttpStatusCode.BadRequest, "invalid_cursor");
        RestHttp.AssertProblem(repeated, HttpStatusCode.BadRequest, "invalid_cursor");
    }
}
