using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Switchboard.Plugins;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Transports.Mcp;

/// <summary>A catalog change reaches Streamable HTTP clients of both eras, each the way its revision prescribes.</summary>
public sealed class ListChangedTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static async Task<(SwitchboardTestServer Server, MutablePluginSource Source)> StartAsync()
    {
        var source = new MutablePluginSource();
        var server = await SwitchboardTestServer.StartAsync(configure: b => b.Services.AddSingleton<IPluginSource>(source), cancellationToken: Token);
        return (server, source);
    }

    [Fact]
    public async Task LegacySession_GetsListChangedOnItsStream_AndSeesTheNewTool()
    {
        var (server, source) = await StartAsync();
        await using var _ = server;
        var transport = new HttpClientTransport(new HttpClientTransportOptions { Endpoint = server.McpUri, TransportMode = HttpTransportMode.StreamableHttp });
        await using var client = await McpClient.CreateAsync(transport, new McpClientOptions { ProtocolVersion = "2025-11-25" }, cancellationToken: Token);
        await using var changes = new ListChangedCounter(client);
        await changes.WaitForStreamAsync(server);
        var seen = changes.Count;
        Assert.DoesNotContain("extra_added", (await client.ListToolsAsync(cancellationToken: Token)).Select(t => t.Name));

        source.Set(TestPlugins.Plugin("extra", "added"));
        await server.GetRequiredService<PluginCatalogLoader>().ReloadAsync(Token);

        await changes.WaitForMoreThanAsync(seen);
        Assert.Contains("extra_added", (await client.ListToolsAsync(cancellationToken: Token)).Select(t => t.Name));
    }

    [Fact]
    public async Task ModernListenStream_IsAcknowledgedFirst_ThenCarriesTaggedListChanged()
    {
        var (server, source) = await StartAsync();
        await using var _ = server;
        using var http = server.CreateHttpClient();
        using var stream = await OpenListenStreamAsync(http, server.McpUri, "sub-1", new JsonObject { ["toolsListChanged"] = true });

        var ack = await stream.NextAsync();
        Assert.Equal("notifications/subscriptions/acknowledged", ack["method"]!.GetValue<string>());
        Assert.Equal("sub-1", ack["params"]!["_meta"]!["io.modelcontextprotocol/subscriptionId"]!.GetValue<string>());
        Assert.True(ack["params"]!["notifications"]!["toolsListChanged"]!.GetValue<bool>());

        source.Set(TestPlugins.Plugin("extra", "added"));
        await server.GetRequiredService<PluginCatalogLoader>().ReloadAsync(Token);

        var change = await stream.NextAsync();
        Assert.Equal("notifications/tools/list_changed", change["method"]!.GetValue<string>());
        Assert.Equal("sub-1", change["params"]!["_meta"]!["io.modelcontextprotocol/subscriptionId"]!.GetValue<string>());
    }

    [Fact]
    public async Task ModernListenStream_NotAskingForTools_GetsNoToolNotification_AndStreamsEndOnShutdown()
    {
        var (server, source) = await StartAsync();
        using var http = server.CreateHttpClient();
        using var narrow = await OpenListenStreamAsync(http, server.McpUri, "narrow", new JsonObject { ["promptsListChanged"] = true });
        using var wide = await OpenListenStreamAsync(http, server.McpUri, "wide", new JsonObject { ["toolsListChanged"] = true });
        var narrowAck = await narrow.NextAsync();
        await wide.NextAsync();
        Assert.Null(narrowAck["params"]!["notifications"]!["toolsListChanged"]);

        source.Set(TestPlugins.Plugin("extra", "added"));
        await server.GetRequiredService<PluginCatalogLoader>().ReloadAsync(Token);
        Assert.Equal("notifications/tools/list_changed", (await wide.NextAsync())["method"]!.GetValue<string>());

        // Once the subscribed stream has its notification the broadcast is over. Shutting down ends both streams with
        // the listen requests' answers; everything the narrow stream carried until then must be free of tool notices.
        await server.DisposeAsync();
        var rest = await narrow.ReadToEndAsync();
        Assert.DoesNotContain(rest, m => m["method"]?.GetValue<string>() == "notifications/tools/list_changed");
        Assert.Equal("narrow", Assert.Single(rest, m => m.ContainsKey("result"))["id"]!.GetValue<string>());
    }

    private static async Task<SseReader> OpenListenStreamAsync(HttpClient http, Uri endpoint, string id, JsonObject notifications)
    {
        var request = McpHttp.ModernRequest(endpoint, "subscriptions/listen", new JsonObject { ["notifications"] = notifications }, id);
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Token);
        if (!response.IsSuccessStatusCode)
        {
            // Read the body only on failure: a listen stream that works never ends.
            Assert.Fail($"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(Token)}");
        }

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        return new SseReader(response, await response.Content.ReadAsStreamAsync(Token));
    }

    /// <summary>Reads JSON messages from a server-sent-events response.</summary>
    private sealed class SseReader(HttpResponseMessage response, Stream stream) : IDisposable
    {
        private readonly StreamReader _reader = new(stream, Encoding.UTF8);
        private readonly Queue<JsonObject> _buffered = new();

        public async Task<JsonObject> NextAsync()
        {
            if (_buffered.TryDequeue(out var buffered))
            {
                return buffered;
            }

            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Token);
            deadline.CancelAfter(TimeSpan.FromSeconds(30));
            while (true)
            {
                var line = await _reader.ReadLineAsync(deadline.Token) ?? throw new InvalidOperationException("The stream ended.");
                if (line.StartsWith("data:", StringComparison.Ordinal) && line.Length > 5 && JsonNode.Parse(line[5..]) is JsonObject message)
                {
                    return message;
                }
            }
        }

        /// <summary>Every remaining message until the server ends the stream.</summary>
        public async Task<List<JsonObject>> ReadToEndAsync()
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Token);
            deadline.CancelAfter(TimeSpan.FromSeconds(30));
            var messages = new List<JsonObject>(_buffered);
            _buffered.Clear();
            while (await _reader.ReadLineAsync(deadline.Token) is { } line)
            {
                if (line.StartsWith("data:", StringComparison.Ordinal) && line.Length > 5 && JsonNode.Parse(line[5..]) is JsonObject message)
                {
                    messages.Add(message);
                }
            }

            return messages;
        }

        public void Dispose()
        {
            _reader.Dispose();
            response.Dispose();
        }
    }
}
