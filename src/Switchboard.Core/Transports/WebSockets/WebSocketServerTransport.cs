using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Threading.Channels;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using Switchboard.Pipeline;
using Switchboard.Transports.Mcp;

namespace Switchboard.Transports.WebSockets;

/// <summary>
/// The MCP SDK transport for one WebSocket connection: one JSON-RPC message per text frame (what the TypeScript SDK's
/// <c>WebSocketClientTransport</c> speaks). Requests are answered as they finish, in any order. A request holds one of
/// the connection's in-flight slots until its response is sent; when all are taken the reader stops reading, so a fast
/// client is slowed down by TCP instead of growing a queue.
/// </summary>
internal sealed class WebSocketServerTransport : ITransport, IGatewayTransportIdentity
{
    private static readonly JsonTypeInfo<JsonRpcMessage> s_messageType = (JsonTypeInfo<JsonRpcMessage>)McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(JsonRpcMessage));

    private readonly WebSocket _socket;
    private readonly Channel<JsonRpcMessage> _incoming;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly SemaphoreSlim _inFlight;
    // A set under a lock rather than a concurrent dictionary: it holds at most MaxInFlightPerConnection ids, and an empty
    // concurrent dictionary is about 500 bytes of every idle connection.
    private readonly HashSet<RequestId> _openRequests = [];
    private readonly System.Security.Claims.ClaimsPrincipal? _user;
    private readonly TimeProvider _timeProvider;

    public WebSocketServerTransport(WebSocket socket, string connectionId, int maxInFlight, System.Security.Claims.ClaimsPrincipal? user, TimeProvider timeProvider)
    {
        _socket = socket;
        _user = user;
        _timeProvider = timeProvider;
        LastActivity = timeProvider.GetTimestamp();
        SessionId = connectionId;
        _inFlight = new SemaphoreSlim(maxInFlight, maxInFlight);

        // The SDK drains this quickly (it dispatches each message to its own task); the bound only matters for a client
        // that floods notifications, which then waits on TCP like everyone else.
        _incoming = Channel.CreateBounded<JsonRpcMessage>(new BoundedChannelOptions(Math.Max(16, maxInFlight * 2)) { SingleWriter = true, SingleReader = true });
    }

    public GatewayTransport Transport => GatewayTransport.WebSocket;

    public string? SessionId { get; }

    public ChannelReader<JsonRpcMessage> MessageReader => _incoming.Reader;

    /// <summary>Requests received whose response has not been sent yet.</summary>
    public int RequestsInFlight
    {
        get
        {
            lock (_openRequests)
            {
                return _openRequests.Count;
            }
        }
    }

    /// <summary>Raised whenever a response leaves, so a shutdown can wait for the last one.</summary>
    public event Action? ResponseSent;

    /// <summary>When the last message was received or sent, from <see cref="TimeProvider.GetTimestamp"/>.</summary>
    public long LastActivity { get; private set; }

    /// <summary>Waits for an in-flight slot before the next message is read.</summary>
    public Task AcquireReadSlotAsync(CancellationToken cancellationToken) => _inFlight.WaitAsync(cancellationToken);

    /// <summary>Gives a slot back when the message read turned out not to be a request (or was refused).</summary>
    public void ReleaseReadSlot() => _inFlight.Release();

    /// <summary>Hands a parsed message to the SDK server. Requests keep their slot until answered.</summary>
    public async ValueTask DeliverAsync(JsonRpcMessage message, CancellationToken cancellationToken)
    {
        LastActivity = _timeProvider.GetTimestamp();
        message.Context ??= new JsonRpcMessageContext();
        message.Context.RelatedTransport = this;
        if (_user is not null)
        {
            message.Context.User = _user;
        }

        if (message is JsonRpcRequest request)
        {
            bool added;
            lock (_openRequests)
            {
                added = _openRequests.Add(request.Id);
            }

            if (!added)
            {
                // A duplicate id would make two answers indistinguishable for the client.
                ReleaseReadSlot();
                await SendErrorAsync(request.Id, (int)McpErrorCode.InvalidRequest, $"Request id {request.Id} is already in use on this connection.", cancellationToken);
                return;
            }
        }
        else
        {
            ReleaseReadSlot();
        }

        await _incoming.Writer.WriteAsync(message, cancellationToken);
    }

    public async Task SendMessageAsync(JsonRpcMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        var payload = JsonSerializer.SerializeToUtf8Bytes(message, s_messageType);
        await SendRawAsync(payload, cancellationToken);

        if (message is JsonRpcMessageWithId { Id: var id } and (JsonRpcResponse or JsonRpcError) && Forget(id))
        {
            ReleaseReadSlot();
            ResponseSent?.Invoke();
        }
    }

    private bool Forget(RequestId id)
    {
        lock (_openRequests)
        {
            return _openRequests.Remove(id);
        }
    }

    /// <summary>Answers a message the SDK never saw (malformed, oversized, refused) with a JSON-RPC error.</summary>
    public Task SendErrorAsync(RequestId id, int code, string message, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("jsonrpc", "2.0");
            switch (id.Id)
            {
                case string s:
                    writer.WriteString("id", s);
                    break;
                case long l:
                    writer.WriteNumber("id", l);
                    break;
                default:
                    writer.WriteNull("id");
                    break;
            }

            writer.WriteStartObject("error");
            writer.WriteNumber("code", code);
            writer.WriteString("message", message);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return SendRawAsync(buffer.WrittenMemory, cancellationToken);
    }

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
        _sendLock.Dispose();
        _inFlight.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task SendRawAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            if (_socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived))
            {
                // The client is gone; its pending answers have nowhere to go.
                return;
            }

            await _socket.SendAsync(payload, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
            LastActivity = _timeProvider.GetTimestamp();
        }
        catch (WebSocketException)
        {
            // Same: the connection broke while sending.
        }
        finally
        {
            _sendLock.Release();
        }
    }
}
