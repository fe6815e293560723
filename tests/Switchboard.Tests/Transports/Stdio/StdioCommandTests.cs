using System.Text.Json;
using System.Text.Json.Nodes;
using Switchboard.Tests.Interop;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Transports.Stdio;

/// <summary>
/// <c>switchboard stdio</c> as a client starts it: the real executable, raw JSON-RPC lines on its standard input, and
/// every line of its standard output checked.
/// </summary>
public sealed class StdioCommandTests
{
    /// <summary>Non-ASCII (accents, CJK, an emoji outside the BMP), quotes, a backslash, a tab, a line break and edge spaces.</summary>
    internal const string TrickyText = " héllo 世界 👋 \"quoted\" back\\slash\ttab\nsecond line ";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task LegacySession_ListsAndCallsTools_StdoutCarriesOnlyJsonRpc_LogsGoToStderr()
    {
        using var data = new TemporaryDirectory();
        await using var server = StdioServerProcess.Start(["stdio", "--data", data.Path]);

        var initialize = await server.InitializeAsync(Token);
        var list = await server.RequestAsync("tools/list", null, Token);
        var echo = await server.RequestAsync("tools/call", EchoArguments(TrickyText), Token);
        var unknownMethod = await server.RequestAsync("no/such/method", null, Token);
        var unknownTool = await server.RequestAsync("tools/call", new JsonObject { ["name"] = "nope_missing", ["arguments"] = new JsonObject() }, Token);
        var parseError = server.ExpectResponse("broken-1");
        await server.SendLineAsync("""{"jsonrpc":"2.0","id":"broken-1","method":"tools/list","params":{""", Token);
        var malformed = await parseError.WaitAsync(TimeSpan.FromSeconds(60), Token);
        await server.SendLineAsync("this line is not JSON at all", Token);
        var afterGarbage = await server.RequestAsync("tools/call", EchoArguments("still here"), Token);
        server.CloseInput();
        var exitCode = await server.WaitForExitAsync(Token);

        Assert.Equal(McpHttp.Legacy, initialize["protocolVersion"]?.GetValue<string>());
        Assert.Equal("switchboard", initialize["serverInfo"]?["name"]?.GetValue<string>());
        Assert.True(initialize["capabilities"]?["tools"]?["listChanged"]?.GetValue<bool>());
        Assert.Equal(SwitchboardServeFixture.SampleTools, ToolNames(list));
        Assert.Equal([TrickyText], Texts(echo));
        Assert.Equal(-32601, ErrorCode(unknownMethod));
        Assert.Equal(-32602, ErrorCode(unknownTool));
        Assert.Equal(-32700, ErrorCode(malformed));
        Assert.Equal(["still here"], Texts(afterGarbage));
        Assert.Equal(0, exitCode);
        AssertEveryLineIsJsonRpc(server.StandardOutputLines);
        Assert.Equal(7, server.StandardOutputLines.Count);
        Assert.Contains("Plugin text 1.0.0 loaded with 2 tools", server.StandardError, StringComparison.Ordinal);
        Assert.Contains("The client closed standard input", server.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModernRequests_WithoutInitialize_AreServed_AndDiscoverListsBothEras()
    {
        using var data = new TemporaryDirectory();
        await using var server = StdioServerProcess.Start(["stdio", "--data", data.Path]);

        var discover = await server.RequestAsync("server/discover", new JsonObject { ["_meta"] = McpHttp.ModernMeta() }, Token);
        var list = await server.RequestAsync("tools/list", new JsonObject { ["_meta"] = McpHttp.ModernMeta() }, Token);
        var call = EchoArguments(TrickyText);
        call["_meta"] = McpHttp.ModernMeta();
        var echo = await server.RequestAsync("tools/call", call, Token);
        server.CloseInput();

        var versions = (discover["result"]?["supportedVersions"] as JsonArray ?? throw new InvalidOperationException(discover.ToJsonString()))
            .Select(v => v!.GetValue<string>()).ToList();
        Assert.Equal(McpHttp.Modern, versions[0]);
        Assert.Contains(McpHttp.Legacy, versions);
        Assert.Equal(SwitchboardServeFixture.SampleTools, ToolNames(list));
        Assert.Equal([TrickyText], Texts(echo));
        Assert.Equal(0, await server.WaitForExitAsync(Token));
        AssertEveryLineIsJsonRpc(server.StandardOutputLines);
    }

    [Fact]
    public async Task InputClosedBeforeAnyMessage_ExitsZero_AndWritesNothingToStdout()
    {
        using var data = new TemporaryDirectory();
        await using var server = StdioServerProcess.Start(["stdio", "--data", data.Path]);

        server.CloseInput();
        var exitCode = await server.WaitForExitAsync(Token);

        Assert.Equal(0, exitCode);
        Assert.Empty(server.StandardOutputLines);
        Assert.True(File.Exists(Path.Combine(data.Path, "switchboard.db")), "the data folder should hold the database");
    }

    [Fact]
    public async Task InputClosedWhileAListenStreamIsOpen_ExitsWithoutWaitingForIt()
    {
        using var data = new TemporaryDirectory();
        await using var server = StdioServerProcess.Start(["stdio", "--data", data.Path]);
        var acknowledged = server.ExpectNotification("notifications/subscriptions/acknowledged");

        // subscriptions/listen is answered only when it is cancelled: a handler still running when the client leaves.
        var listen = new JsonObject { ["notifications"] = new JsonObject { ["toolsListChanged"] = true }, ["_meta"] = McpHttp.ModernMeta() };
        await server.SendLineAsync(new JsonObject { ["jsonrpc"] = "2.0", ["id"] = "listen-1", ["method"] = "subscriptions/listen", ["params"] = listen }.ToJsonString(), Token);
        var acknowledgement = await acknowledged.WaitAsync(TimeSpan.FromSeconds(60), Token);
        server.CloseInput();
        var exitCode = await server.WaitForExitAsync(Token);

        Assert.True(acknowledgement["params"]?["notifications"]?["toolsListChanged"]?.GetValue<bool>());
        Assert.Equal(0, exitCode);
        AssertEveryLineIsJsonRpc(server.StandardOutputLines);
    }

    [Fact]
    public async Task Sigterm_ExitsZero()
    {
        using var data = new TemporaryDirectory();
        await using var server = StdioServerProcess.Start(["stdio", "--data", data.Path]);
        await server.InitializeAsync(Token);

        await server.TerminateAsync(Token);
        var exitCode = await server.WaitForExitAsync(Token);

        Assert.Equal(0, exitCode);
        AssertEveryLineIsJsonRpc(server.StandardOutputLines);
    }

    [Theory]
    [InlineData("environment", "invalid configuration:", "Switchboard:Tools:DefaultTimeout must be positive")]
    [InlineData("missing-file", "Configuration file '", "was not found")]
    public async Task InvalidConfiguration_ExitsTwo_WithOneMessageOnStderrAndNothingOnStdout(string problem, string expectedStart, string expectedDetail)
    {
        using var data = new TemporaryDirectory();
        var arguments = new List<string> { "stdio", "--data", data.Path };
        var environment = new Dictionary<string, string?>();
        if (problem == "environment")
        {
            environment["Switchboard__Tools__DefaultTimeout"] = "-00:00:01";
        }
        else
        {
            arguments.AddRange(["--config", Path.Combine(data.Path, "missing.json")]);
        }

        await using var server = StdioServerProcess.Start(arguments, environment);
        var exitCode = await server.WaitForExitAsync(Token);

        Assert.Equal(2, exitCode);
        Assert.Empty(server.StandardOutputLines);
        Assert.StartsWith("switchboard: " + expectedStart, server.StandardError, StringComparison.Ordinal);
        Assert.Contains(expectedDetail, server.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", server.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConfigurationSources_FileThenEnvironmentThenFlags_AsForServe()
    {
        using var root = new TemporaryDirectory();
        var fromFile = Path.Combine(root.Path, "data-from-file");
        var fromFlag = Path.Combine(root.Path, "data-from-flag");
        var config = Path.Combine(root.Path, "switchboard.json");
        await File.WriteAllTextAsync(config, new JsonObject
        {
            ["Switchboard"] = new JsonObject
            {
                ["ServerName"] = "from-file",
                ["DataDirectory"] = fromFile,
                ["Plugins"] = new JsonObject { ["clock"] = new JsonObject { ["Enabled"] = false } },
            },
        }.ToJsonString(), Token);
        await using var server = StdioServerProcess.Start(
            ["stdio", "--config", config, "--data", fromFlag],
            new Dictionary<string, string?> { ["Switchboard__ServerName"] = "from-env", ["Switchboard__DataDirectory"] = Path.Combine(root.Path, "data-from-env") });

        var initialize = await server.InitializeAsync(Token);
        var list = await server.RequestAsync("tools/list", null, Token);
        server.CloseInput();

        Assert.Equal("from-env", initialize["serverInfo"]?["name"]?.GetValue<string>());
        Assert.Equal(SwitchboardServeFixture.SampleTools.Where(t => !t.StartsWith("clock_", StringComparison.Ordinal)), ToolNames(list));
        Assert.Equal(0, await server.WaitForExitAsync(Token));
        Assert.True(File.Exists(Path.Combine(fromFlag, "switchboard.db")), "--data should win over the file and the environment");
        Assert.False(Directory.Exists(fromFile));
        Assert.False(Directory.Exists(Path.Combine(root.Path, "data-from-env")));
    }

    [Fact]
    public async Task TwoProcessesOnOneDataFolder_BothServe_AndBothExitZero()
    {
        using var data = new TemporaryDirectory();
        await using var first = StdioServerProcess.Start(["stdio", "--data", data.Path]);
        await first.InitializeAsync(Token);
        await using var second = StdioServerProcess.Start(["stdio", "--data", data.Path]);
        await second.InitializeAsync(Token);

        // Interleaved, while both have the database open.
        var fromSecond = await second.RequestAsync("tools/call", EchoArguments("second 二"), Token);
        var fromFirst = await first.RequestAsync("tools/call", EchoArguments("first 一"), Token);
        first.CloseInput();
        second.CloseInput();

        Assert.Equal(["first 一"], Texts(fromFirst));
        Assert.Equal(["second 二"], Texts(fromSecond));
        Assert.Equal(0, await first.WaitForExitAsync(Token));
        Assert.Equal(0, await second.WaitForExitAsync(Token));
        Assert.DoesNotContain("fail:", first.StandardError + second.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ToolOverrunningItsConfiguredTimeout_ReturnsATimeoutResult_AndTheSessionGoesOn()
    {
        // The conformance fixture test_tool_with_logging pauses twice for 50 ms; a 10 ms timeout set through the
        // environment cuts it short.
        using var data = new TemporaryDirectory();
        await using var server = StdioServerProcess.Start(
            ["stdio", "--data", data.Path, "--conformance-fixtures"],
            new Dictionary<string, string?> { ["Switchboard__Plugins__conformance__Tools__test_tool_with_logging__Timeout"] = "00:00:00.010" });
        await server.InitializeAsync(Token);

        var slow = await server.RequestAsync("tools/call", new JsonObject { ["name"] = "test_tool_with_logging", ["arguments"] = new JsonObject() }, Token);
        var echo = await server.RequestAsync("tools/call", EchoArguments("after the timeout"), Token);
        server.CloseInput();

        Assert.True(slow["result"]?["isError"]?.GetValue<bool>(), slow.ToJsonString());
        Assert.Contains("Tool 'test_tool_with_logging' timed out after 10 ms", Assert.Single(Texts(slow)), StringComparison.Ordinal);
        Assert.Equal(["after the timeout"], Texts(echo));
        Assert.Equal(0, await server.WaitForExitAsync(Token));
        AssertEveryLineIsJsonRpc(server.StandardOutputLines);
    }

    internal static JsonObject EchoArguments(string text)
        => new() { ["name"] = "text_echo", ["arguments"] = new JsonObject { ["text"] = text } };

    private static string[] ToolNames(JsonObject response)
        => (response["result"]?["tools"] as JsonArray ?? throw new InvalidOperationException("No tools in: " + response.ToJsonString()))
            .Select(t => t!["name"]!.GetValue<string>())
            .ToArray();

    private static string[] Texts(JsonObject response)
        => (response["result"]?["content"] as JsonArray ?? throw new InvalidOperationException("No content in: " + response.ToJsonString()))
            .Where(block => block?["type"]?.GetValue<string>() == "text")
            .Select(block => block!["text"]!.GetValue<string>())
            .ToArray();

    private static int? ErrorCode(JsonObject response) => response["error"]?["code"]?.GetValue<int>();

    /// <summary>Each line must be one JSON-RPC 2.0 message: a response (id with result or error) or a notification.</summary>
    private static void AssertEveryLineIsJsonRpc(IReadOnlyList<string> lines)
    {
        foreach (var line in lines)
        {
            JsonObject? message;
            try
            {
                message = JsonNode.Parse(line) as JsonObject;
            }
            catch (JsonException)
            {
                message = null;
            }

            Assert.True(message is not null, "standard output carried a line that is not a JSON object: " + line);
            Assert.True(message["jsonrpc"]?.GetValue<string>() == "2.0", "not JSON-RPC 2.0: " + line);
            var isResponse = message.ContainsKey("id") && (message.ContainsKey("result") ^ message.ContainsKey("error"));
            var isNotificationOrRequest = message["method"] is JsonValue;
            Assert.True(isResponse || isNotificationOrRequest, "neither a response nor a notification: " + line);
        }
    }
}
