using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Plugins.Upstreams;

/// <summary>
/// One way of reaching the gateway, so each upstream case runs over every transport. Lists and results are plain JSON
/// (the MCP shapes), whatever the transport. Add a transport by adding a name to <see cref="ServerTransports"/> and a
/// case to <see cref="ConnectAsync"/>; stdio needs its own process and is started with <see cref="StartStdioAsync"/>.
/// </summary>
public abstract class GatewayClient : IAsyncDisposable
{
    public const string SdkModern = "mcp-sdk-2026-07-28";
    public const string SdkLegacy = "mcp-sdk-2025-11-25";
    public const string RawModern = "http-2026-07-28";
    public const string RawLegacy = "http-2025-11-25";
    public const string Rest = "rest";
    public const string WebSocket = "websocket";
    public const string Stdio = "stdio";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>Transports served by a running <see cref="SwitchboardTestServer"/>.</summary>
    public static TheoryData<string> ServerTransports => [SdkModern, SdkLegacy, RawModern, RawLegacy, Rest, WebSocket];

    public abstract string Transport { get; }

    public static async Task<GatewayClient> ConnectAsync(string transport, Uri baseUri)
    {
        var mcp = new Uri(baseUri, "/mcp");
        return transport switch
        {
            SdkModern => new SdkClient(transport, await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions { Endpoint = mcp, TransportMode = HttpTransportMode.StreamableHttp }), cancellationToken: Token)),
            SdkLegacy => new SdkClient(transport, await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions { Endpoint = mcp, TransportMode = HttpTransportMode.StreamableHttp }), new McpClientOptions { ProtocolVersion = McpHttp.Legacy }, cancellationToken: Token)),
            RawModern => new RawHttpClient(transport, mcp, sessionId: null),
            RawLegacy => await RawHttpClient.StartLegacyAsync(mcp),
            Rest => new RestClient(baseUri),
            WebSocket => await WebSocketClient.StartAsync(baseUri),
            _ => throw new ArgumentOutOfRangeException(nameof(transport), transport, "Unknown transport."),
        };
    }

    /// <summary>Starts <c>switchboard stdio</c> (the real executable) with a configuration file and connects the SDK's stdio client.</summary>
    public static async Task<GatewayClient> StartStdioAsync(string configFile, string dataDirectory, string workingDirectory)
    {
        var transport = new StdioClientTransport(new StdioClientTransportOptions
        {
            Command = SwitchboardProcess.ExecutablePath,
            Arguments = ["stdio", "--data", dataDirectory, "--config", configFile],
            WorkingDirectory = workingDirectory,
            Name = "switchboard-stdio",
            ShutdownTimeout = TimeSpan.FromSeconds(20),
        });
        return new SdkClient(Stdio, await McpClient.CreateAsync(transport, cancellationToken: Token));
    }

    /// <summary>Every tool, all pages, as JSON.</summary>
    public abstract Task<IReadOnlyList<JsonObject>> ListToolsAsync();

    /// <summary>Follows <c>nextCursor</c> to the last page of a raw JSON-RPC tools/list.</summary>
    protected static async Task<IReadOnlyList<JsonObject>> ListAllPagesAsync(Func<string, JsonObject, Task<JsonObject>> send)
    {
        ArgumentNullException.ThrowIfNull(send);
        var tools = new List<JsonObject>();
        string? cursor = null;
        do
        {
            var parameters = new JsonObject();
            if (cursor is not null)
            {
                parameters["cursor"] = cursor;
            }

            var result = await send("tools/list", parameters);
            tools.AddRange(result["tools"]!.AsArray().Select(t => t!.AsObject().DeepClone().AsObject()));
            cursor = result["nextCursor"]?.GetValue<string>();
        }
        while (cursor is not null);
        return tools;
    }

    /// <summary>Calls a tool and returns the MCP result as JSON (tool errors are results with <c>isError</c>).</summary>
    public abstract Task<JsonObject> CallAsync(string tool, JsonObject arguments);

    public async Task<IReadOnlyList<string>> ListToolNamesAsync() => [.. (await ListToolsAsync()).Select(t => t["name"]!.GetValue<string>())];

    public abstract ValueTask DisposeAsync();

    public override string ToString() => Transport;

    public static string Text(JsonObject result) => result["content"]![0]!["text"]!.GetValue<string>();

    public static bool IsError(JsonObject result) => result["isError"]?.GetValue<bool>() == true;

    private sealed class SdkClient(string transport, McpClient client) : GatewayClient
    {
        public override string Transport => transport;

        public override async Task<IReadOnlyList<JsonObject>> ListToolsAsync()
            => [.. (await client.ListToolsAsync(cancellationToken: Token)).Select(t => (JsonObject)JsonSerializer.SerializeToNode(t.ProtocolTool, McpJsonUtilities.DefaultOptions)!)];

        public override async Task<JsonObject> CallAsync(string tool, JsonObject arguments)
        {
            var args = arguments.ToDictionary(p => p.Key, p => (object?)JsonSerializer.SerializeToElement(p.Value, McpJsonUtilities.DefaultOptions));
            var result = await client.CallToolAsync(tool, args, cancellationToken: Token);
            return (JsonObject)JsonSerializer.SerializeToNode(result, McpJsonUtilities.DefaultOptions)!;
        }

        public override ValueTask DisposeAsync() => client.DisposeAsync();
    }

    private sealed class RawHttpClient(string transport, Uri endpoint, string? sessionId) : GatewayClient
    {
        private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(60) };
        private int _id = 10;

        public override string Transport => transport;

        public static async Task<GatewayClient> StartLegacyAsync(Uri endpoint)
        {
            using var http = new HttpClient();
            var session = await McpHttp.InitializeLegacySessionAsync(http, endpoint, Token);
            return new RawHttpClient(RawLegacy, endpoint, session);
        }

        public override Task<IReadOnlyList<JsonObject>> ListToolsAsync() => ListAllPagesAsync(SendAsync);

        public override Task<JsonObject> CallAsync(string tool, JsonObject arguments)
            => SendAsync("tools/call", new JsonObject { ["name"] = tool, ["arguments"] = arguments.DeepClone() });

        public override ValueTask DisposeAsync()
        {
            _http.Dispose();
            return ValueTask.CompletedTask;
        }

        private async Task<JsonObject> SendAsync(string method, JsonObject parameters)
        {
            var id = Interlocked.Increment(ref _id);
            HttpRequestMessage request;
            if (sessionId is null)
            {
                request = McpHttp.ModernRequest(endpoint, method, parameters, id);
            }
            else
            {
                var body = new JsonObject { ["jsonrpc"] = "2.0", ["id"] = id, ["method"] = method, ["params"] = parameters };
                request = McpHttp.Post(endpoint, body.ToJsonString(), sessionId, McpHttp.Legacy);
            }

            var response = await McpHttp.SendAsync(_http, request, Token);
            Assert.True(response.Status == 200, $"{method} over {transport}: HTTP {response.Status} {response.Body}");
            return response.Result.DeepClone().AsObject();
        }
    }

    private sealed class RestClient(Uri baseUri) : GatewayClient
    {
        private readonly HttpClient _http = new() { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(60) };

        public override string Transport => Rest;

        public override async Task<IReadOnlyList<JsonObject>> ListToolsAsync()
        {
            var tools = new List<JsonObject>();
            string? cursor = null;
            do
            {
                var path = cursor is null ? "/v1/tools" : "/v1/tools?cursor=" + Uri.EscapeDataString(cursor);
                var page = await _http.GetFromJsonAsync<JsonObject>(new Uri(path, UriKind.Relative), Token);
                tools.AddRange(page!["tools"]!.AsArray().Select(t => t!.AsObject().DeepClone().AsObject()));
                cursor = page["nextCursor"]?.GetValue<string>();
            }
            while (cursor is not null);
            return tools;
        }

        public override async Task<JsonObject> CallAsync(string tool, JsonObject arguments)
        {
            using var response = await _http.PostAsJsonAsync(new Uri($"/v1/tools/{Uri.EscapeDataString(tool)}/call", UriKind.Relative), arguments, Token);
            var text = await response.Content.ReadAsStringAsync(Token);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"REST call {tool}: HTTP {(int)response.StatusCode} {text}");
            return JsonNode.Parse(text)!.AsObject();
        }

        public override ValueTask DisposeAsync()
        {
            _http.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    private sealed class WebSocketClient(McpWebSocket socket) : GatewayClient
    {
        private readonly SemaphoreSlim _lock = new(1, 1);
        private int _id = 10;

        public override string Transport => WebSocket;

        public static async Task<GatewayClient> StartAsync(Uri baseUri)
        {
            var socket = await McpWebSocket.ConnectAsync(baseUri, Token);
            await socket.InitializeAsync(Token);
            return new WebSocketClient(socket);
        }

        public override Task<IReadOnlyList<JsonObject>> ListToolsAsync() => ListAllPagesAsync(SendAsync);

        public override Task<JsonObject> CallAsync(string tool, JsonObject arguments)
            => SendAsync("tools/call", new JsonObject { ["name"] = tool, ["arguments"] = arguments.DeepClone() });

        public override async ValueTask DisposeAsync()
        {
            await socket.CloseAsync(Token);
            await socket.DisposeAsync();
            _lock.Dispose();
        }

        private async Task<JsonObject> SendAsync(string method, JsonObject parameters)
        {
            await _lock.WaitAsync(Token);
            try
            {
                var id = Interlocked.Increment(ref _id);
                await socket.SendAsync(new JsonObject { ["jsonrpc"] = "2.0", ["id"] = id, ["method"] = method, ["params"] = parameters }, Token);
                var (response, _) = await socket.ReceiveResponseAsync(id, Token);
                Assert.True(response["result"] is JsonObject, $"{method} over WebSocket: {response.ToJsonString()}");
                return response["result"]!.DeepClone().AsObject();
            }
            finally
            {
                _lock.Release();
            }
        }
    }
}
