using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Switchboard.Tests.TestSupport;

/// <summary>A raw WebSocket MCP client for wire-level tests: send any frame, read messages one by one.</summary>
public sealed class McpWebSocket : IAsyncDisposable
{
    private readonly ClientWebSocket _socket;

    private McpWebSocket(ClientWebSocket socket) => _socket = socket;

    public WebSocketState State => _socket.State;

    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    public string? CloseStatusDescription => _socket.CloseStatusDescription;

    public string? SubProtocol => _socket.SubProtocol;

    public static Uri EndpointOf(Uri baseUri) => new UriBuilder(baseUri) { Scheme = "ws", Path = "/ws" }.Uri;

    public static async Task<McpWebSocket> ConnectAsync(Uri baseUri, CancellationToken cancellationToken, string? origin = null, string? subProtocol = "mcp", string? bearerToken = null)
    {
        var socket = new ClientWebSocket();
        if (bearerToken is not null)
        {
            socket.Options.SetRequestHeader("Authorization", "Bearer " + bearerToken);
        }

        if (subProtocol is not null)
        {
            socket.Options.AddSubProtocol(subProtocol);
        }

        if (origin is not null)
        {
            socket.Options.SetRequestHeader("Origin", origin);
        }

        await socket.ConnectAsync(EndpointOf(baseUri), cancellationToken);
        return new McpWebSocket(socket);
    }

    public Task SendTextAsync(string text, CancellationToken cancellationToken)
        => _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, cancellationToken);

    public Task SendAsync(JsonObject message, CancellationToken cancellationToken) => SendTextAsync(message.ToJsonString(), cancellationToken);

    public Task SendBinaryAsync(byte[] data, CancellationToken cancellationToken)
        => _socket.SendAsync(data, WebSocketMessageType.Binary, true, cancellationToken);

    /// <summary>Reads the next message; null when the server closed the connection.</summary>
    public async Task<JsonObject?> ReceiveAsync(CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout ?? TimeSpan.FromSeconds(30));
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        while (true)
        {
            var result = await _socket.ReceiveAsync(buffer, deadline.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            message.Write(buffer.AsSpan(0, result.Count));
            if (result.EndOfMessage)
            {
                return JsonNode.Parse(message.ToArray()) as JsonObject;
            }
        }
    }

    /// <summary>Reads messages until one answers <paramref name="id"/>; returns it and the notifications seen before it.</summary>
    public async Task<(JsonObject Response, List<JsonObject> Notifications)> ReceiveResponseAsync(object id, CancellationToken cancellationToken)
    {
        var notifications = new List<JsonObject>();
        while (true)
        {
            var message = await ReceiveAsync(cancellationToken) ?? throw new InvalidOperationException("The server closed the connection.");
            if (message["id"] is JsonValue value && value.ToJsonString() == JsonValue.Create(id)!.ToJsonString())
            {
                return (message, notifications);
            }

            notifications.Add(message);
        }
    }

    /// <summary>Runs the 2025-11-25 handshake on this connection.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken, string protocolVersion = "2025-11-25")
    {
        await SendAsync(
            new JsonObject
            {
                ["jsonrpc"] = "2.0",
                ["id"] = "init",
                ["method"] = "initialize",
                ["params"] = new JsonObject
                {
                    ["protocolVersion"] = protocolVersion,
                    ["capabilities"] = new JsonObject(),
                    ["clientInfo"] = new JsonObject { ["name"] = "raw-ws", ["version"] = "1.0.0" },
                },
            },
            cancellationToken);
        var (response, _) = await ReceiveResponseAsync("init", cancellationToken);
        Assert.Equal(protocolVersion, response["result"]!["protocolVersion"]!.GetValue<string>());
        await SendAsync(new JsonObject { ["jsonrpc"] = "2.0", ["method"] = "notifications/initialized" }, cancellationToken);
    }

    public static JsonObject Call(object id, string tool, JsonObject arguments, JsonObject? meta = null) => new()
    {
        ["jsonrpc"] = "2.0",
        ["id"] = JsonValue.Create(id),
        ["method"] = "tools/call",
        ["params"] = new JsonObject { ["name"] = tool, ["arguments"] = arguments, ["_meta"] = meta },
    };

    public Task CloseAsync(CancellationToken cancellationToken)
        => _socket.State == WebSocketState.Open ? _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", cancellationToken) : Task.CompletedTask;

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
