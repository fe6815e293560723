using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Plugins.Upstreams;

/// <summary>
/// The reference server (@modelcontextprotocol/server-everything) mounted twice: over stdio as <c>everything</c> and
/// over Streamable HTTP as <c>everything-http</c>, beside the sample plugins. One gateway for the class (the tests
/// change no upstream state).
/// </summary>
public sealed class EverythingUpstreamFixture : IAsyncLifetime
{
    public const string GatewaySecretVariable = "SWITCHBOARD_TEST_GATEWAY_ONLY_SECRET";
    public const string GatewaySecretValue = "gateway-only-secret-value";
    public const string UpstreamTokenVariable = "SWITCHBOARD_TEST_EVERYTHING_TOKEN";
    public const string UpstreamTokenValue = "configured-upstream-token";

    private Process? _httpUpstream;

    public SwitchboardTestServer Server { get; private set; } = null!;

    public Uri HttpUpstreamUri { get; private set; } = null!;

    public bool Available { get; private set; }

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(NodeTooling.NodePath) || !File.Exists(UpstreamConfig.EverythingScript))
        {
            return; // Each test calls RequireNode, which skips (or fails in CI) with the reason.
        }

        Environment.SetEnvironmentVariable(GatewaySecretVariable, GatewaySecretValue);
        Environment.SetEnvironmentVariable(UpstreamTokenVariable, UpstreamTokenValue);
        (_httpUpstream, HttpUpstreamUri) = await StartHttpEverythingAsync();
        Server = await SwitchboardTestServer.StartAsync(configuration: Configuration(HttpUpstreamUri), cancellationToken: TestContext.Current.CancellationToken);
        Available = true;
    }

    public static Dictionary<string, string?> Configuration(Uri httpUpstream) => UpstreamConfig.Merge(
        UpstreamConfig.Stdio("everything", UpstreamConfig.EverythingScript, ["stdio"])
            .With("Switchboard:Upstreams:everything:Environment:UPSTREAM_GREETING", "hello")
            .With("Switchboard:Upstreams:everything:Environment:UPSTREAM_TOKEN", $"{{env:{UpstreamTokenVariable}}}"),
        new Dictionary<string, string?>
        {
            ["Switchboard:Upstreams:everything-http:Version"] = "2026.8.31",
            ["Switchboard:Upstreams:everything-http:Url"] = httpUpstream.ToString(),
            ["Switchboard:Upstreams:everything-http:Start"] = "Eager",
        });

    public async ValueTask DisposeAsync()
    {
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }

        if (_httpUpstream is not null)
        {
            _httpUpstream.Kill(entireProcessTree: true);
            await _httpUpstream.WaitForExitAsync();
            _httpUpstream.Dispose();
        }
    }

    /// <summary>server-everything in Streamable HTTP mode on a free loopback port; returns once it listens.</summary>
    internal static async Task<(Process Process, Uri Endpoint)> StartHttpEverythingAsync()
    {
        var port = LoopbackPort.Free();

        var startInfo = new ProcessStartInfo(NodeTooling.NodePath)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
            WorkingDirectory = NodeTooling.InteropDirectory,
        };
        startInfo.ArgumentList.Add(UpstreamConfig.EverythingScript);
        startInfo.ArgumentList.Add("streamableHttp");
        startInfo.Environment["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data?.Contains("listening on port", StringComparison.OrdinalIgnoreCase) == true)
            {
                listening.TrySetResult();
            }
        };
        process.OutputDataReceived += (_, _) => { };
        process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException("server-everything (HTTP) exited before listening."));
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        await listening.Task.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        return (process, new Uri($"http://127.0.0.1:{port}/mcp"));
    }
}

public sealed class EverythingUpstreamTests(EverythingUpstreamFixture fixture) : IClassFixture<EverythingUpstreamFixture>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(GatewayClient.ServerTransports), MemberType = typeof(GatewayClient))]
    public async Task EverythingTools_AreListedBesideSamplePlugins_AndCalledOverStdioAndHttpUpstreams(string transport)
    {
        UpstreamConfig.RequireNode();
        await using var client = await GatewayClient.ConnectAsync(transport, fixture.Server.BaseUri);

        await AssertListsAndCallsEverythingAsync(client);
    }

    [Fact]
    public async Task EverythingTools_OverTheStdioTransport_FromAConfigurationFile()
    {
        UpstreamConfig.RequireNode();
        using var folder = new TemporaryDirectory();
        var configFile = Path.Combine(folder.Path, "switchboard.json");
        await File.WriteAllTextAsync(configFile, ToJsonFile(EverythingUpstreamFixture.Configuration(fixture.HttpUpstreamUri)), Token);

        await using var client = await GatewayClient.StartStdioAsync(configFile, Path.Combine(folder.Path, "data"), NodeTooling.RepositoryRoot);

        await AssertListsAndCallsEverythingAsync(client);
    }

    [Theory]
    [InlineData("everything", McpHttp.Modern)]
    [InlineData("everything", McpHttp.Legacy)]
    [InlineData("everything-http", McpHttp.Modern)]
    [InlineData("everything-http", McpHttp.Legacy)]
    public async Task LongRunningOperation_RelaysEveryProgressNotificationWithTheCallersToken_BeforeTheResult(string upstream, string era)
    {
        UpstreamConfig.RequireNode();
        using var http = fixture.Server.CreateHttpClient();
        var parameters = new JsonObject
        {
            ["name"] = $"{upstream}_trigger-long-running-operation",
            ["arguments"] = new JsonObject { ["duration"] = 0.3, ["steps"] = 3 },
        };
        JsonNode callerToken;
        HttpRequestMessage request;
        if (era == McpHttp.Modern)
        {
            callerToken = "caller-token-7";
            var meta = McpHttp.ModernMeta();
            meta["progressToken"] = callerToken.DeepClone();
            parameters["_meta"] = meta;
            request = McpHttp.ModernRequest(fixture.Server.McpUri, "tools/call", parameters, id: 7);
        }
        else
        {
            callerToken = 4242;
            parameters["_meta"] = new JsonObject { ["progressToken"] = callerToken.DeepClone() };
            var session = await McpHttp.InitializeLegacySessionAsync(http, fixture.Server.McpUri, Token);
            var body = new JsonObject { ["jsonrpc"] = "2.0", ["id"] = 7, ["method"] = "tools/call", ["params"] = parameters };
            request = McpHttp.Post(fixture.Server.McpUri, body.ToJsonString(), session, McpHttp.Legacy);
        }

        var response = await McpHttp.SendAsync(http, request, Token);

        // Read the stream as sent: every progress notification, then the result, on the caller's own response.
        var messages = response.Body.Split('\n')
            .Where(line => line.StartsWith("data:", StringComparison.Ordinal) && line.Length > 5)
            .Select(line => JsonNode.Parse(line[5..])!.AsObject())
            .ToList();
        var progress = messages.Where(m => m["method"]?.GetValue<string>() == "notifications/progress").ToList();
        Assert.Equal([1.0, 2.0, 3.0], progress.Select(p => p["params"]!["progress"]!.GetValue<double>()));
        Assert.All(progress, p => Assert.True(JsonNode.DeepEquals(callerToken, p["params"]!["progressToken"]), p.ToJsonString()));
        Assert.All(progress, p => Assert.Equal(3.0, p["params"]!["total"]!.GetValue<double>()));
        Assert.True(messages.FindIndex(m => m["result"] is not null) > messages.IndexOf(progress[^1]), response.Body);
        Assert.Contains("Long running operation completed", GatewayClient.Text(response.Result), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StdioUpstream_GetsOnlyItsConfiguredEnvironment_WithSecretsResolved_NotTheGatewaysSecrets()
    {
        UpstreamConfig.RequireNode();
        await using var client = await GatewayClient.ConnectAsync(GatewayClient.RawModern, fixture.Server.BaseUri);

        var result = await client.CallAsync("everything_get-env", []);

        var environment = JsonNode.Parse(GatewayClient.Text(result))!.AsObject();
        Assert.Equal("hello", environment["UPSTREAM_GREETING"]?.GetValue<string>());
        Assert.Equal(EverythingUpstreamFixture.UpstreamTokenValue, environment["UPSTREAM_TOKEN"]?.GetValue<string>());
        Assert.NotNull(environment["PATH"]);
        Assert.Null(environment[EverythingUpstreamFixture.GatewaySecretVariable]);
        Assert.DoesNotContain(EverythingUpstreamFixture.GatewaySecretValue, GatewayClient.Text(result), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UpstreamTools_CarryTheirUpstreamInMeta_AndKeepTheirDefinitions()
    {
        UpstreamConfig.RequireNode();
        await using var client = await GatewayClient.ConnectAsync(GatewayClient.RawModern, fixture.Server.BaseUri);

        var tools = await client.ListToolsAsync();

        var echo = tools.Single(t => t["name"]!.GetValue<string>() == "everything_echo");
        Assert.Equal("Echoes back the input string", echo["description"]!.GetValue<string>());
        Assert.Equal("string", echo["inputSchema"]!["properties"]!["message"]!["type"]!.GetValue<string>());
        Assert.True(echo["annotations"]!["readOnlyHint"]!.GetValue<bool>());
        Assert.Equal("everything", echo["_meta"]!["switchboard/upstream"]!["name"]!.GetValue<string>());
        Assert.True(echo["_meta"]!["switchboard/upstream"]!["available"]!.GetValue<bool>());
        Assert.Null(tools.Single(t => t["name"]!.GetValue<string>() == "text_echo")["_meta"]?["switchboard/upstream"]);
    }

    private static async Task AssertListsAndCallsEverythingAsync(GatewayClient client)
    {
        var names = await client.ListToolNamesAsync();
        Assert.Contains("everything_echo", names);
        Assert.Contains("everything_get-sum", names);
        Assert.Contains("everything-http_echo", names);
        Assert.Contains("everything-http_get-tiny-image", names);
        Assert.Contains("text_echo", names);
        Assert.Contains("clock_now", names);

        var echo = await client.CallAsync("everything_echo", new JsonObject { ["message"] = "héllo 世界" });
        Assert.False(GatewayClient.IsError(echo), echo.ToJsonString());
        Assert.Equal("Echo: héllo 世界", GatewayClient.Text(echo));

        var sum = await client.CallAsync("everything-http_get-sum", new JsonObject { ["a"] = 2, ["b"] = 3 });
        Assert.False(GatewayClient.IsError(sum), sum.ToJsonString());
        Assert.Contains("5", GatewayClient.Text(sum), StringComparison.Ordinal);

        var image = await client.CallAsync("everything-http_get-tiny-image", []);
        Assert.Contains(image["content"]!.AsArray(), block => block!["type"]!.GetValue<string>() == "image");

        var local = await client.CallAsync("text_echo", new JsonObject { ["text"] = "still local" });
        Assert.Equal("still local", GatewayClient.Text(local));
    }

    /// <summary>Turns flat configuration keys (a:b:0) into the nested JSON a --config file holds.</summary>
    internal static string ToJsonFile(IReadOnlyDictionary<string, string?> settings)
    {
        var root = new JsonObject();
        foreach (var (key, value) in settings)
        {
            var parts = key.Split(':');
            JsonNode node = root;
            for (var i = 0; i < parts.Length - 1; i++)
            {
                var isIndex = int.TryParse(parts[i + 1], out _);
                var next = node[parts[i]];
                if (next is null)
                {
                    next = isIndex ? new JsonArray() : new JsonObject();
                    SetChild(node, parts[i], next);
                }

                node = next;
            }

            SetChild(node, parts[^1], value);
        }

        return root.ToJsonString();

        static void SetChild(JsonNode parent, string key, JsonNode? child)
        {
            if (parent is JsonArray array)
            {
                var index = int.Parse(key, System.Globalization.CultureInfo.InvariantCulture);
                while (array.Count <= index)
                {
                    array.Add(null);
                }

                array[index] = child;
            }
            else
            {
                parent[key] = child;
            }
        }
    }
}
