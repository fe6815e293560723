using System.Buffers;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Switchboard.Transports.Mcp;

namespace Switchboard.Transports.WebSockets;

/// <summary>
/// One WebSocket connection: sending (one frame per message, one sender at a time), the in-flight slots that give TCP
/// backpressure, the ids of requests not answered yet, and the MCP SDK server that serves the connection.
/// </summary>
/// <remarks>
/// The SDK server is made when a message arrives and none is running. A connection that speaks 2026-07-28 (every
/// request carries its own protocol version, capabilities and client info in <c>_meta</c>) keeps nothing in its server
/// between requests, so the server can be stopped and let go whenever nothing is in flight, as the SDK's own Streamable
/// HTTP handler serves each such request with a server of its own. It goes at once when the connection's requests come
/// rarely (the last one arrived more than the linger after the one before), else once the connection has been quiet for
/// the linger. An idle connection then holds only this object, the socket and Kestrel's connection (measured with
/// <c>switchboard-bench heap</c>: 25,954 -> 17,406 B of managed heap per idle connection).
/// <para>
/// A 2025-11-25 session's state is what its <c>initialize</c> set (protocol version, client capabilities, client info)
/// and whether the client sent <c>notifications/initialized</c>. The connection keeps those few hundred bytes, so the
/// session's server can be let go too: the next message first replays the same <c>initialize</c> (its answer is not
/// sent) and <c>notifications/initialized</c> into a new server. The connection, not a server, tells such a session
/// that the tool list changed (<c>notifications/tools/list_changed</c>), from its <c>notifications/initialized</c> to
/// its close, so no change is lost while servers come and go.
/// </para>
/// A server is kept for the life of the connection when it holds state a fresh one would not have: a logging level set
/// by <c>logging/setLevel</c>, or a suspended handler waiting for the client's input (an <c>input_required</c> answer
/// was sent).
/// </remarks>
internal sealed class WebSocketConnection : IAsyncDisposable
{
    private static readonly JsonTypeInfo<JsonRpcMessage> s_messageType = (JsonTypeInfo<JsonRpcMessage>)McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(JsonRpcMessage));
    private static readonly JsonTypeInfo<CancelledNotificationParams> s_cancelledParams = (JsonTypeInfo<CancelledNotificationParams>)McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(CancelledNotificationParams));

    private static readonly TimeSpan ReplayTimeout = TimeSpan.FromSeconds(10);
    private static readonly byte[] s_toolsListChanged = System.Text.Encoding.UTF8.GetBytes($$"""{"jsonrpc":"2.0","method":"{{NotificationMethods.ToolListChangedNotification}}"}""");

    private readonly WebSocket _socket;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly SemaphoreSlim _inFlight;
    private readonly int _incomingCapacity;
    private readonly TimeSpan? _serverLinger;
    private readonly Func<ITransport, McpServer> _createServer;
    private readonly McpSessionRegistry _sessions;
    private readonly System.Security.Claims.ClaimsPrincipal? _user;
    private readonly TimeProvider _timeProvider;
    private readonly CancellationTokenSource _stopServers = new();

    // Guards the open request ids (at most MaxInFlightPerConnection of them: a set under a lock, because an empty
    // concurrent dictionary is about 500 bytes of every idle connection) and which server is serving.
    private readonly Lock _gate = new();
    private readonly HashSet<RequestId> _openRequests = [];
    private ServingServer? _current;
    private int _delivering;

    // When the last two requests arrived: a connection whose requests come closer together than the linger keeps its
    // server between them (making one per request cost a fifth of WebSocket throughput at one request in flight).
    private long _lastRequestAt;
    private long _previousRequestAt;
    private ITimer? _lingerTimer;

    // An input_required answer went out: the server may hold a suspended handler, so it stays for good.
    private bool _inputRequested;

    // A 2025-11-25 session: the parameters of the client's last initialize (as UTF-8 JSON: a parsed node tree is several
    // times larger, and 10,000 idle sessions each keep one) and whether it sent notifications/initialized.
    private byte[]? _initializeParams;
    private bool _initializedNotified;

    // Set while a 2025-11-25 session has no server: replayed into the next one. The tracking tells the session of tool
    // list changes for its whole life. The replay's id is new each time (a client cannot use it), and its answer is
    // taken out of the outgoing stream.
    private SessionReplay? _replay;
    private IDisposable? _sessionTracking;
    private RequestId _replayId;
    private volatile TaskCompletionSource<JsonRpcMessage>? _replayAnswer;
    private bool _closed;

    // Servers let go whose message loop has not ended yet; the close waits for them. A count rather than the stop tasks,
    // so a finished stop (and the server it references) is not kept alive by an idle connection.
    private int _stopping;
    private TaskCompletionSource? _stopped;

    public WebSocketConnection(
        WebSocket socket,
        string connectionId,
        int maxInFlight,
        TimeSpan? serverLinger,
        Func<ITransport, McpServer> createServer,
        McpSessionRegistry sessions,
        System.Security.Claims.ClaimsPrincipal? user,
        TimeProvider timeProvider)
    {
        _socket = socket;
        Id = connectionId;
        _inFlight = new SemaphoreSlim(maxInFlight, maxInFlight);

        // The SDK drains a server's queue quickly (it dispatches each message to its own task); the bound only matters
        // for a client that floods notifications, which then waits on TCP like everyone else.
        _incomingCapacity = Math.Max(16, maxInFlight * 2);
        _serverLinger = serverLinger;
        _createServer = createServer;
        _sessions = sessions;
        _user = user;
        _timeProvider = timeProvider;
        LastActivity = timeProvider.GetTimestamp();
    }

    /// <summary>Kestrel's connection id; also the session id every server of this connection reports.</summary>
    public string Id { get; }

    /// <summary>Requests received whose response has not been sent yet.</summary>
    public int RequestsInFlight
    {
        get
        {
            lock (_gate)
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

    /// <summary>Hands a parsed message to the connection's SDK server, making one if none is running. Requests keep their slot until answered.</summary>
    public async ValueTask DeliverAsync(JsonRpcMessage message, CancellationToken cancellationToken)
    {
        LastActivity = _timeProvider.GetTimestamp();
        message.Context ??= new JsonRpcMessageContext();
        if (_user is not null)
        {
            message.Context.User = _user;
        }

        ServingServer? target = null;
        var duplicate = false;
        lock (_gate)
        {
            if (message is JsonRpcRequest request && !_openRequests.Add(request.Id))
            {
                duplicate = true;
            }
            else
            {
                RememberSessionState(message);
                // Counted under the same lock the releaser checks, so a server is never let go between choosing it here
                // and writing the message to it.
                _delivering++;
                target = _current;
                if (message is JsonRpcRequest)
                {
                    _previousRequestAt = _lastRequestAt;
                    _lastRequestAt = LastActivity;
                }
            }
        }

        if (duplicate)
        {
            // A duplicate id would make two answers indistinguishable for the client.
            ReleaseReadSlot();
            await SendErrorAsync(((JsonRpcRequest)message).Id, (int)McpErrorCode.InvalidRequest, $"Request id {((JsonRpcRequest)message).Id} is already in use on this connection.", cancellationToken);
            return;
        }

        if (message is not JsonRpcRequest)
        {
            ReleaseReadSlot();
        }

        try
        {
            if (target is null)
            {
                // Only this reader makes servers, and the releaser only takes one away, so there is never a second.
                target = StartServer();
                SessionReplay? replay;
                lock (_gate)
                {
                    _current = target;
                    replay = _replay;
                    _replay = null;
                }

                if (replay is not null)
                {
                    await ReplaySessionAsync(target, replay, cancellationToken);
                }
            }

            message.Context.RelatedTransport = target.Transport;
            await target.Transport.WriteAsync(message, cancellationToken);
        }
        finally
        {
            lock (_gate)
            {
                _delivering--;
            }
        }

        if (message is JsonRpcNotification { Method: NotificationMethods.CancelledNotification } cancelled
            && CancelledRequestId(cancelled) is { } cancelledId && Forget(cancelledId))
        {
            // A cancelled request is never answered (MCP: no response to a cancelled request), so its slot is given back
            // here; otherwise every cancellation would keep a slot and the connection would stop being read. Should an
            // answer leave anyway, it finds the id already forgotten and frees nothing twice.
            ReleaseReadSlot();
            ResponseSent?.Invoke();
        }

        if (message is not JsonRpcRequest)
        {
            // A notification answers nothing, so this may be the last thing the server had to do. The end of a
            // handshake is not: the client's first request follows at once, so the server lingers for it.
            ReleaseServerIfQuiet(lingerFirst: message is JsonRpcNotification { Method: NotificationMethods.InitializedNotification });
        }
    }

    private static RequestId? CancelledRequestId(JsonRpcNotification notification)
    {
        try
        {
            return notification.Params?.Deserialize(s_cancelledParams)?.RequestId;
        }
        catch (JsonException)
        {
            // Malformed: the SDK ignores it too, and no slot is freed.
            return null;
        }
    }

    /// <summary>Sends a message of the SDK server; a response frees its request's slot.</summary>
    public async Task SendAsync(JsonRpcMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message is JsonRpcMessageWithId { Id: var answered } and (JsonRpcResponse or JsonRpcError) && _replayAnswer is not null)
        {
            TaskCompletionSource<JsonRpcMessage>? pending = null;
            lock (_gate)
            {
                if (answered == _replayId)
                {
                    pending = _replayAnswer;
                    _replayAnswer = null;
                }
            }

            if (pending is not null)
            {
                // The answer to a replayed initialize: the client had its answer when it initialized.
                pending.TrySetResult(message);
                return;
            }
        }

        if (message is JsonRpcResponse { Result: JsonObject result } && IsInputRequired(result))
        {
            // The server may hold a suspended handler for the client's retry; only this server instance can resume it.
            lock (_gate)
            {
                _inputRequested = true;
            }
        }

        var payload = JsonSerializer.SerializeToUtf8Bytes(message, s_messageType);
        await SendRawAsync(payload, cancellationToken);

        if (message is JsonRpcMessageWithId { Id: var id } and (JsonRpcResponse or JsonRpcError) && Forget(id))
        {
            ReleaseReadSlot();
            ResponseSent?.Invoke();
            ReleaseServerIfQuiet();
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

    /// <summary>
    /// Stops serving: no more input reaches the server, which finishes the handlers already running (their answers are
    /// dropped if the socket is gone). Handlers still running after five seconds are cancelled.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        var grace = TimeSpan.FromSeconds(5);
        ServingServer? last;
        Task stopping;
        IDisposable? detached;
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            last = _current;
            _current = null;
            detached = _sessionTracking;
            _sessionTracking = null;
            _replay = null;
            DisposeLingerTimerLocked();
            _stopped = _stopping > 0 ? new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) : null;
            stopping = _stopped?.Task ?? Task.CompletedTask;
        }

        detached?.Dispose();
        var stops = last is null ? stopping : Task.WhenAll(stopping, StopServerAsync(last));
        try
        {
            await stops.WaitAsync(grace, CancellationToken.None);
        }
        catch (TimeoutException)
        {
            await _stopServers.CancelAsync();
            await stops.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        finally
        {
            _stopServers.Dispose();
            _sendLock.Dispose();
            _inFlight.Dispose();
        }
    }

    /// <summary>Keeps what a 2025-11-25 session's server would need to be made again. Called under the gate.</summary>
    private void RememberSessionState(JsonRpcMessage message)
    {
        switch (message)
        {
            case JsonRpcRequest { Method: RequestMethods.Initialize } initialize:
                // A new handshake replaces the session: replaying the old one first would only be overwritten.
                _initializeParams = initialize.Params is { } parameters ? Utf8Of(parameters) : null;
                _initializedNotified = false;
                _replay = null;
                break;
            case JsonRpcNotification { Method: NotificationMethods.InitializedNotification }:
                _initializedNotified = true;

                // From here on the connection tells the session of tool list changes, whichever server serves it.
                _sessionTracking ??= _closed ? null : _sessions.TrackConnection(SendToolsListChangedAsync);
                break;
        }
    }

    private static byte[] Utf8Of(JsonNode node)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            node.WriteTo(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Initializes a new server as the session's first one was, before it gets the message that woke it.</summary>
    private async Task ReplaySessionAsync(ServingServer target, SessionReplay replay, CancellationToken cancellationToken)
    {
        var answer = new TaskCompletionSource<JsonRpcMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        var id = new RequestId("switchboard/replay/" + Guid.NewGuid().ToString("N"));
        lock (_gate)
        {
            _replayId = id;
            _replayAnswer = answer;
        }

        await target.Transport.WriteAsync(
            new JsonRpcRequest
            {
                Id = id,
                Method = RequestMethods.Initialize,
                Params = JsonNode.Parse(replay.InitializeParams),
                Context = new JsonRpcMessageContext { User = _user, RelatedTransport = target.Transport },
            },
            cancellationToken);

        // The SDK handles requests concurrently: the message that woke the server must not overtake its initialize.
        JsonRpcMessage? answered;
        try
        {
            answered = await answer.Task.WaitAsync(ReplayTimeout, _timeProvider, cancellationToken);
        }
        catch (TimeoutException)
        {
            answered = null;
        }
        finally
        {
            lock (_gate)
            {
                _replayAnswer = null;
            }
        }

        if (answered is not JsonRpcResponse)
        {
            // It accepted these parameters once; if it no longer does (or does not answer), the session cannot go on.
            throw new WebSocketException(WebSocketError.Faulted, "The session could not be restored.");
        }

        if (replay.Initialized)
        {
            await target.Transport.WriteAsync(
                new JsonRpcNotification
                {
                    Method = NotificationMethods.InitializedNotification,
                    Context = new JsonRpcMessageContext { User = _user, RelatedTransport = target.Transport },
                },
                cancellationToken);
        }
    }

    private static bool IsInputRequired(JsonObject result)
        => result.TryGetPropertyValue("resultType", out var kind) && kind is JsonValue value && value.TryGetValue<string>(out var text) && text == "input_required";

    private ServingServer StartServer()
    {
        var transport = new WebSocketServerTransport(this, _incomingCapacity);
        var server = _createServer(transport);
        var tracking = _sessions.Track(server, connectionNotifies: true);

        // Each message is its own trace. Started from the reader, the SDK server's message loop would inherit the upgrade
        // request's activity, and every call of the connection (hours of them) would be one trace: one trace id in every
        // audit record, child spans of a span that ends only when the connection does.
        var upgradeActivity = Activity.Current;
        Activity.Current = null;
        var run = server.RunAsync(_stopServers.Token);
        Activity.Current = upgradeActivity;
        return new ServingServer(transport, server, tracking, run);
    }

    /// <summary>
    /// Called when the last request in flight was answered: lets the server go at once if the connection's requests come
    /// rarely, or leaves that to the linger timer if they come in quick succession.
    /// </summary>
    private void ReleaseServerIfQuiet(bool lingerFirst = false)
    {
        if (_serverLinger is not { } linger)
        {
            return;
        }

        ServingServer? released;
        lock (_gate)
        {
            released = _current;
            if (released is null || !CanReleaseLocked(released))
            {
                return;
            }

            if (lingerFirst || (_previousRequestAt != 0 && _timeProvider.GetElapsedTime(_previousRequestAt, _lastRequestAt) < linger))
            {
                // Busy: the next request is likely close. The server goes once the connection has been quiet a whole linger.
                _lingerTimer ??= _timeProvider.CreateTimer(static s => ((WebSocketConnection)s!).OnLingerElapsed(), this, linger, Timeout.InfiniteTimeSpan);
                return;
            }

            DetachLocked();
        }

        _ = StopReleasedServerAsync(released);
    }

    /// <summary>The linger timer: lets the server go if nothing was received or sent for a whole linger, else looks again later.</summary>
    private void OnLingerElapsed()
    {
        ServingServer? released;
        lock (_gate)
        {
            released = _current;
            if (released is null || KeptForGoodLocked(released))
            {
                // Gone already, or kept for good.
                DisposeLingerTimerLocked();
                return;
            }

            if (InFlightLocked)
            {
                // The answer's own check decides once it leaves (a zero linger would otherwise let a busy server go here).
                DisposeLingerTimerLocked();
                return;
            }

            var wait = _serverLinger!.Value - _timeProvider.GetElapsedTime(LastActivity);
            if (wait > TimeSpan.Zero)
            {
                _lingerTimer?.Change(wait, Timeout.InfiniteTimeSpan);
                return;
            }

            DetachLocked();
        }

        _ = StopReleasedServerAsync(released);
    }

    private bool CanReleaseLocked(ServingServer serving) => !InFlightLocked && !KeptForGoodLocked(serving);

    /// <summary>A message is being handed to the server or a request is unanswered.</summary>
    private bool InFlightLocked => _delivering > 0 || _openRequests.Count > 0;

    /// <summary>The connection is closing, or the server holds what a fresh one would not (level, suspended handler, a session it cannot replay).</summary>
    private bool KeptForGoodLocked(ServingServer serving)
        => _closed || _inputRequested || SessionStateOf(serving.Server) is SessionState.Kept;

    private void DetachLocked()
    {
        var released = _current!;
        _current = null;
        _stopping++;
        DisposeLingerTimerLocked();
        if (SessionStateOf(released.Server) is SessionState.Replayable)
        {
            _replay = new SessionReplay(_initializeParams!, _initializedNotified);
        }
    }

    /// <summary>Tells a 2025-11-25 session that the tool list changed (its servers never do: see the remarks).</summary>
    private Task SendToolsListChangedAsync(CancellationToken cancellationToken) => SendRawAsync(s_toolsListChanged, cancellationToken);

    private void DisposeLingerTimerLocked()
    {
        _lingerTimer?.Dispose();
        _lingerTimer = null;
    }

    private async Task StopReleasedServerAsync(ServingServer released)
    {
        try
        {
            await StopServerAsync(released);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Nobody awaits this stop; a server that failed to stop cleanly is let go all the same.
        }
        finally
        {
            lock (_gate)
            {
                if (--_stopping == 0)
                {
                    _stopped?.TrySetResult();
                }
            }
        }
    }

    /// <summary>
    /// What a fresh server would lack: nothing for one that only saw 2026-07-28 requests (their protocol version,
    /// capabilities and client info come with each request) or none; the <c>initialize</c> of a 2025-11-25 session, which
    /// the connection can replay; a logging level set by <c>logging/setLevel</c>, which it cannot. Called under the gate.
    /// </summary>
    private SessionState SessionStateOf(McpServer server)
    {
#pragma warning disable MCP9005 // logging/setLevel is deprecated in 2026-07-28, but a client may still set a level that a new server would not have
        if (server.LoggingLevel is not null)
#pragma warning restore MCP9005
        {
            return SessionState.Kept;
        }

        var version = server.NegotiatedProtocolVersion;
        if (version is null || ProtocolVersions.IsModern(version))
        {
            return SessionState.None;
        }

        // A 2025-11-25 version comes from initialize; replayable once the handshake is complete (until then the client's
        // notifications/initialized is moments away) and the connection holds its parameters.
        return _initializeParams is not null && _initializedNotified ? SessionState.Replayable : SessionState.Kept;
    }

    private static async Task StopServerAsync(ServingServer serving)
    {
        try
        {
            serving.Transport.CompleteIncoming();
            await serving.Run.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        finally
        {
            serving.Tracking.Dispose();
            await serving.Server.DisposeAsync();
        }
    }

    private bool Forget(RequestId id)
    {
        lock (_gate)
        {
            return _openRequests.Remove(id);
        }
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

    private sealed record ServingServer(WebSocketServerTransport Transport, McpServer Server, IDisposable Tracking, Task Run);

    private sealed record SessionReplay(byte[] InitializeParams, bool Initialized);

    private enum SessionState
    {
        /// <summary>Nothing a fresh server would lack.</summary>
        None,

        /// <summary>A 2025-11-25 session the connection can replay into a fresh server.</summary>
        Replayable,

        /// <summary>State only this server has.</summary>
        Kept,
    }
}
