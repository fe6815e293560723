using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Switchboard.Plugins;
using Switchboard.Tests.TestSupport;
using Switchboard.Transports.Mcp;
using static Switchboard.Tests.Plugins.Upstreams.GatewayClient;

namespace Switchboard.Tests.Plugins.Upstreams;

/// <summary>
/// An HTTP upstream that speaks MCP 2026-07-28: another Switchboard (in-process, real Kestrel) that records the headers
/// of every request it receives. Shows that callers' credentials never travel upstream, that configured secrets do
/// (and are never logged), that list changes arrive over <c>subscriptions/listen</c>, and that an upstream that goes
/// away gets callers a clear error.
/// </summary>
public sealed class HttpUpstreamTests
{
    private const string TokenVariable = "SWITCHBOARD_TEST_INNER_UPSTREAM_TOKEN";
    private const string ConfiguredToken = "configured-inner-token-5f2c";
    private const string FileKey = "file-api-key-91d7";
    private const string CallerToken = "caller-secret-token-77aa";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    static HttpUpstreamTests() => Environment.SetEnvironmentVariable(TokenVariable, ConfiguredToken);

    [Theory]
    [InlineData(McpHttp.Modern)]
    [InlineData(McpHttp.Legacy)]
    public async Task CallersCredentials_NeverReachTheUpstream_OnlyItsConfiguredSecretsDo_AndNoSecretIsLogged(string era)
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        using var folder = new TemporaryDirectory();
        var keyFile = Path.Combine(folder.Path, "api-key");
        await File.WriteAllTextAsync(keyFile, FileKey + "\n", Token);
        var logs = new CapturingLoggerProvider();
        var configuration = Inner(upstream.McpUri)
            .With("Switchboard:Upstreams:inner:Headers:Authorization", $"Bearer {{env:{TokenVariable}}}")
            .With("Switchboard:Upstreams:inner:Headers:X-Api-Key", $"{{file:{keyFile}}}")
            .With("Logging:LogLevel:Default", "Trace")
            .With("Logging:LogLevel:Switchboard", "Trace")
            .With("Logging:LogLevel:ModelContextProtocol", "Trace");
        await using var gateway = await SwitchboardTestServer.StartAsync(
            configure: b => b.Services.AddSingleton<ILoggerProvider>(logs),
            configuration: configuration,
            cancellationToken: Token);
        using var http = gateway.CreateHttpClient();
        var arguments = new JsonObject { ["name"] = "inner_text_echo", ["arguments"] = new JsonObject { ["text"] = "through two gateways" } };

        HttpRequestMessage request;
        if (era == McpHttp.Modern)
        {
            request = McpHttp.ModernRequest(gateway.McpUri, "tools/call", arguments);
        }
        else
        {
            var session = await McpHttp.InitializeLegacySessionAsync(http, gateway.McpUri, Token);
            request = McpHttp.Post(gateway.McpUri, new JsonObject { ["jsonrpc"] = "2.0", ["id"] = 3, ["method"] = "tools/call", ["params"] = arguments }.ToJsonString(), session, McpHttp.Legacy);
        }

        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", CallerToken);
        request.Headers.Add("Cookie", "session=" + CallerToken);
        request.Headers.Add("X-Api-Key", CallerToken);
        var response = await McpHttp.SendAsync(http, request, Token);

        Assert.Equal("through two gateways", Text(response.Result));
        var received = upstream.Requests;
        Assert.NotEmpty(received);
        Assert.All(received, headers =>
        {
            Assert.Equal("Bearer " + ConfiguredToken, headers["Authorization"]);
            Assert.Equal(FileKey, headers["X-Api-Key"]);
            Assert.False(headers.ContainsKey("Cookie"));
            Assert.DoesNotContain(headers.Values, value => value.Contains(CallerToken, StringComparison.Ordinal));
        });
        var logged = string.Join('\n', logs.Messages);
        Assert.Contains("Upstream inner: connected", logged, StringComparison.Ordinal);
        Assert.DoesNotContain(ConfiguredToken, logged, StringComparison.Ordinal);
        Assert.DoesNotContain(FileKey, logged, StringComparison.Ordinal);
        Assert.DoesNotContain(CallerToken, logged, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModernUpstream_AnnouncesAListChangeOnItsListenStream_AndTheGatewaysClientsHearOfIt()
    {
        var source = new MutablePluginSource();
        source.Set(TestPlugins.Plugin("extra", "one"));
        await using var upstream = await RecordingUpstream.StartAsync(b => b.Services.AddSingleton<IPluginSource>(source));
        var logs = new CapturingLoggerProvider();
        await using var gateway = await SwitchboardTestServer.StartAsync(
            configure: b => b.Services.AddSingleton<ILoggerProvider>(logs),
            configuration: Inner(upstream.McpUri),
            cancellationToken: Token);
        var transport = new HttpClientTransport(new HttpClientTransportOptions { Endpoint = gateway.McpUri, TransportMode = HttpTransportMode.StreamableHttp });
        await using var client = await McpClient.CreateAsync(transport, new McpClientOptions { ProtocolVersion = McpHttp.Legacy }, cancellationToken: Token);
        await using var changes = new ListChangedCounter(client);
        await changes.WaitForStreamAsync(gateway);
        var seen = changes.Count;
        Assert.Contains(logs.Messages, m => m.Contains("Upstream inner: connected with 13 tools (MCP 2026-07-28)", StringComparison.Ordinal));
        Assert.Contains("inner_extra_one", (await client.ListToolsAsync(cancellationToken: Token)).Select(t => t.Name));
        await Eventually.TrueAsync(() => upstream.Requests.Any(r => r.GetValueOrDefault("Mcp-Method") == "subscriptions/listen"), "the gateway's subscriptions/listen request");

        // The request is recorded before the upstream registers the subscription; a change before that would be lost.
        await Eventually.TrueAsync(() => upstream.Server.GetRequiredService<McpSessionRegistry>().Count.Subscriptions > 0, "the upstream to register the gateway's subscription");
        source.Set(TestPlugins.Plugin("extra", "one", "two"));
        await upstream.Server.GetRequiredService<PluginCatalogLoader>().ReloadAsync(Token);

        await changes.WaitForMoreThanAsync(seen);
        var names = (await client.ListToolsAsync(cancellationToken: Token)).Select(t => t.Name).ToList();
        Assert.Contains("inner_extra_two", names);
        var two = await client.CallToolAsync("inner_extra_two", cancellationToken: Token);
        Assert.Equal("two", Assert.IsType<TextContentBlock>(Assert.Single(two.Content)).Text);
    }

    [Fact]
    public async Task UpstreamThatGoesAway_GetsCallersAClearIsError_WhileOtherPluginsKeepWorking()
    {
        var upstream = await RecordingUpstream.StartAsync();
        await using var gateway = await SwitchboardTestServer.StartAsync(configuration: Inner(upstream.McpUri), cancellationToken: Token);
        await using var client = await ConnectAsync(RawModern, gateway.BaseUri);
        Assert.Equal("up", Text(await client.CallAsync("inner_text_echo", new JsonObject { ["text"] = "up" })));

        await upstream.DisposeAsync();
        var result = await client.CallAsync("inner_text_echo", new JsonObject { ["text"] = "anyone?" });

        Assert.True(IsError(result));
        Assert.StartsWith("Upstream server 'inner' failed while running tool 'inner_text_echo':", Text(result), StringComparison.Ordinal);
        Assert.Equal("local", Text(await client.CallAsync("text_echo", new JsonObject { ["text"] = "local" })));
        var marked = await Eventually.ValueAsync(
            async () => (await client.ListToolsAsync()).Single(t => t["name"]!.GetValue<string>() == "inner_text_echo"),
            tool => tool["_meta"]?["switchboard/upstream"]?["available"]?.GetValue<bool>() == false,
            "the gone upstream's tools to be marked");
        Assert.StartsWith("[Unavailable: upstream server 'inner' is down;", marked["description"]!.GetValue<string>(), StringComparison.Ordinal);
        var refused = await client.CallAsync("inner_text_echo", new JsonObject { ["text"] = "again?" });
        Assert.True(IsError(refused));
        Assert.StartsWith("Upstream server 'inner'", Text(refused), StringComparison.Ordinal);
    }

    private static Dictionary<string, string?> Inner(Uri url) => new()
    {
        ["Switchboard:Upstreams:inner:Version"] = "0.1.0",
        ["Switchboard:Upstreams:inner:Url"] = url.ToString(),
        ["Switchboard:Upstreams:inner:Start"] = "Eager",
        ["Switchboard:Upstreams:inner:StartTimeout"] = "00:00:30",
        ["Switchboard:Upstreams:inner:Restart:InitialDelay"] = "00:00:00.050",
        ["Switchboard:Upstreams:inner:Restart:MaxDelay"] = "00:00:00.200",
    };

    /// <summary>A Switchboard serving the sample plugins over Streamable HTTP, recording every request's headers.</summary>
    private sealed class RecordingUpstream : IAsyncDisposable
    {
        private readonly ConcurrentQueue<Dictionary<string, string>> _requests;
        private int _disposed;

        private RecordingUpstream(SwitchboardTestServer server, ConcurrentQueue<Dictionary<string, string>> requests)
        {
            Server = server;
            _requests = requests;
        }

        public SwitchboardTestServer Server { get; }

        public Uri McpUri => Server.McpUri;

        public IReadOnlyList<Dictionary<string, string>> Requests => [.. _requests];

        public static async Task<RecordingUpstream> StartAsync(Action<Switchboard.Hosting.ISwitchboardBuilder>? configure = null)
        {
            var requests = new ConcurrentQueue<Dictionary<string, string>>();
            var server = await SwitchboardTestServer.StartAsync(
                configure: b =>
                {
                    b.Services.AddSingleton<IStartupFilter>(new RecordHeaders(requests));
                    configure?.Invoke(b);
                },

                // The gateway's subscriptions/listen stream stays open until this server goes away; do not wait for it.
                configuration: new Dictionary<string, string?> { ["Switchboard:Http:ShutdownTimeout"] = "00:00:00.200" },
                cancellationToken: Token);
            return new RecordingUpstream(server, requests);
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                await Server.DisposeAsync();
            }
        }

        private sealed class RecordHeaders(ConcurrentQueue<Dictionary<string, string>> requests) : IStartupFilter
        {
            public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
            {
                app.Use(async (HttpContext context, RequestDelegate following) =>
                {
                    if (context.Request.Path.StartsWithSegments("/mcp"))
                    {
                        requests.Enqueue(context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase));
                    }

                    await following(context);
                });
                next(app);
            };
        }
    }
}
