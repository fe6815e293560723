using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Threading.Channels;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using Switchboard.Pipeline;
using Switchboard.Transports.Mcp;

namespace Switchboard.Transports.WebSockets;

/// <summary>
/// The MCP SDK transport between one SDK server and the WebSocket connection it serves: one JSON-RPC message per text
/// frame (what the TypeScript SDK's <c>WebSocketClientTransport</c> speaks). The connection reads and parses frames and
/// writes the messages here; the server's answers go back through the connection, which sends them as they finish, in
/// any order. A connection may be served by several servers in turn (see <see cref="WebSocketConnection"/>), each with
/// a transport of its own; all report the connection's id as their session id.
/// </summary>
internal sealed class WebSocketServerTransport : ITransport, IGatewayTransportIdentity
{
    private static readonly JsonTypeInfo<JsonRpcMessage> s_messageType = (JsonTypeInfo<JsonRpcMessage>)McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(JsonRpcMessage));

    private readonly WebSocketConnection _connection;
    private readonly Channel<JsonRpcMessage> _incoming;

    public WebSocketServerTransport(WebSocketConnection connection, int capacity)
    {
        _connection = connection;
        _incoming = Channel.CreateBounded<JsonRpcMessage>(new BoundedChannelOptions(capacity) { SingleWriter = true, SingleReader = true });
    }

    public GatewayTransport Transport => GatewayTransport.WebSocket;

    public string? SessionId => _connection.Id;

    public ChannelReader<JsonRpcMessage> MessageReader => _incoming.Reader;

    /// <summary>Queues a message for the server.</summary>
    public ValueTask WriteAsync(JsonRpcMessage message, CancellationToken cancellationToken) => _incoming.Writer.WriteAsync(message, cancellationToken);

    public Task SendMessageAsync(JsonRpcMessage message, CancellationToken cancellationToken = default) => _connection.SendAsync(message, cancellationToken);

    /// <summary>Parses one complete message; on failure returns the JSON-RPC error to send back.</summary>
    public static bool TryParse(ReadOnlySpan<byte> utf8, out JsonRpcMessage? message, out RequestId errorId, out int errorCode, out string errorMessage)
    {
        message = null;
        errorId = default;
        errorCode = 0;
        errorMessage = string.Empty;

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8.ToArray());
        }
        catch (JsonException)
        {
            errorCode = -32700;
            errorMessage = "Parse error: the message is not valid JSON.";
            return false;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Array)
            {
                errorCode = (int)McpErrorCode.InvalidRequest;
                errorMessage = "Invalid request: JSON-RPC batches are not supported; send one message per frame.";
                return false;
            }

            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("id", out var id))
            {
                errorId = id.ValueKind switch
                {
                    JsonValueKind.String => new RequestId(id.GetString()!),
                    JsonValueKind.Number when id.TryGetInt64(out var n) => new RequestId(n),
                    _ => default,
                };
            }

            try
            {
                message = root.Deserialize(s_messageType);
            }
            catch (JsonException)
            {
                message = null;
            }

            if (message is null || (message is JsonRpcRequest { Method: null or "" }))
            {
                errorCode = (int)McpErrorCode.InvalidRequest;
                errorMessage = "Invalid request: not a JSON-RPC 2.0 message.";
                return false;
            }

            return true;
        }
    }

    /// <summary>Ends the message stream; the SDK server finishes its in-flight handlers and stops.</summary>
    public void CompleteIncoming() => _incoming.Writer.TryComplete();

    public ValueTask DisposeAsync()
    {
        CompleteIncoming();
        return ValueTask.CompletedTask;
    }
}
