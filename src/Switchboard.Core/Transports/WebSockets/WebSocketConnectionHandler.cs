using System.Buffers;
using System.Diagnostics;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Switchboard.Transports.Http;
using Switchboard.Transports.Mcp;

namespace Switchboard.Transports.WebSockets;

/// <summary>
/// Serves MCP over one WebSocket connection (<c>/ws</c>, subprotocol <c>mcp</c>): the MCP SDK server behind it (let go
/// while the connection is quiet, a 2025-11-25 session's <c>initialize</c> replayed into the next: see <see cref="WebSocketConnection"/>), many
/// requests in flight answered as they finish, bounded reading, a per-message size limit, JSON-RPC errors for malformed
/// messages without closing, an idle timeout, and a graceful close on shutdown once in-flight calls have finished.
/// </summary>
internal sealed partial class WebSocketConnectionHandler(
    IOptions<WebSocketTransportOptions> options,
    IOptions<McpServerOptions> serverOptions,
    McpSessionRegistry sessions,
    IHostApplicationLifetime lifetime,
    TimeProvider timeProvider,
    ILoggerFactory loggerFactory,
    ILogger<WebSocketConnectionHandler> logger)
{
    public const string SubProtocol = "mcp";

    private int _connections;
    private long _accepted;
    private long _serversStarted;

    /// <summary>Connections currently open.</summary>
    public int OpenConnections => Volatile.Read(ref _connections);

    /// <summary>Connections accepted since start (only grows, so a short-lived connection is never missed).</summary>
    public long AcceptedConnections => Interlocked.Read(ref _accepted);

    /// <summary>MCP SDK servers made for connections since start: one per burst of requests (a 2025-11-25 session's handshake counts too).</summary>
    public long ServersStarted => Interlocked.Read(ref _serversStarted);

    public async Task HandleAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.Headers.Upgrade = "websocket";
            await JsonRpcHttpError.WriteAsync(context, StatusCodes.Status426UpgradeRequired, JsonRpcHttpError.InvalidRequest, "Upgrade Required: connect with a WebSocket client using the 'mcp' subprotocol.");
            return;
        }

        if (!context.WebSockets.WebSocketRequestedProtocols.Contains(SubProtocol, StringComparer.Ordinal))
        {
            await JsonRpcHttpError.WriteAsync(context, StatusCodes.Status400BadRequest, JsonRpcHttpError.InvalidRequest, "Bad Request: the WebSocket subprotocol 'mcp' is required.");
            return;
        }

        var settings = options.Value;
        if (Interlocked.Increment(ref _connections) > settings.MaxConnections)
        {
            Interlocked.Decrement(ref _connections);
            context.Response.Headers.RetryAfter = "5";
            await JsonRpcHttpError.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, JsonRpcHttpError.ServerError, "Service Unavailable: too many WebSocket connections; retry later.");
            return;
        }

        try
        {
            using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { SubProtocol = SubProtocol, DangerousEnableCompression = false });
            Interlocked.Increment(ref _accepted);
            await ServeAsync(context, socket, settings);
        }
        finally
        {
            Interlocked.Decrement(ref _connections);
        }
    }

    private async Task ServeAsync(HttpContext context, WebSocket socket, WebSocketTransportOptions settings)
    {
        var connectionId = context.Connection.Id;
        // One options instance for every server, as the SDK's own Streamable HTTP handler shares it across sessions: the
        // server copies what it needs and never changes it, and building it per connection cost about 2 KB of every
        // idle connection (measured: 25.7 -> 23.7 KB of managed heap per idle connection).
        var mcpOptions = serverOptions.Value;
        var services = context.RequestServices;
        // Disposed after the log line below: no more input reaches the SDK, which finishes the handlers already running
        // (their answers are dropped if the socket is gone).
        await using var connection = new WebSocketConnection(
            socket,
            connectionId,
            settings.MaxInFlightPerConnection,
            settings.ReleaseIdleServers ? settings.ServerLinger : null,
            t =>
            {
                Interlocked.Increment(ref _serversStarted);
                return McpServer.Create(t, mcpOptions, loggerFactory, services);
            },
            sessions,
            context.User,
            timeProvider);

        var state = new ConnectionLifetime(socket, connection);
        using var idleTimer = timeProvider.CreateTimer(static s => ((ConnectionLifetime)s!).OnIdleCheck(), state, settings.IdleTimeout, Timeout.InfiniteTimeSpan);
        state.IdleTimer = idleTimer;
        state.IdleTimeout = settings.IdleTimeout;
        state.TimeProvider = timeProvider;
        if (context.Features.Get<Security.WatchedRequest>() is { } watched)
        {
            // Once its token is revoked (or its key), the credential watchdog closes the connection politely rather
            // than aborting it.
            watched.End = reason => state.CloseAsync(WebSocketCloseStatus.PolicyViolation, reason);
        }

        using var stopping = lifetime.ApplicationStopping.Register(static s => ((ConnectionLifetime)s!).BeginShutdown(), state);

        // The connection lives no longer than the credentials it was opened with: closed at the very second they expire
        // (the watchdog's once-a-second pass would be up to a second late).
        using var expiry = CredentialsExpiry(context.User) is { } expiresAt
            ? timeProvider.CreateTimer(static s => _ = ((ConnectionLifetime)s!).CloseAsync(WebSocketCloseStatus.PolicyViolation, Security.CredentialWatchdog.ExpiredReason), state, Max(expiresAt - timeProvider.GetUtcNow(), TimeSpan.Zero), Timeout.InfiniteTimeSpan)
            : null;

        Log.Connected(logger, connectionId);
        var reason = "client closed";
        try
        {
            reason = await ReadLoopAsync(state, settings, context.RequestAborted);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            reason = "connection lost";
        }
        finally
        {
            Log.Disconnected(logger, connectionId, reason);
        }
    }

    private static DateTimeOffset? CredentialsExpiry(System.Security.Claims.ClaimsPrincipal user)
        => user.FindFirst(Security.SwitchboardClaims.Expires)?.Value is { } exp && long.TryParse(exp, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : null;

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>Reads one message at a time until the client closes, the server closes, or the connection breaks.</summary>
    private async Task<string> ReadLoopAsync(ConnectionLifetime state, WebSocketTransportOptions settings, CancellationToken aborted)
    {
        var socket = state.Socket;
        var connection = state.Connection;
        while (true)
        {
            // Backpressure: wait for an in-flight slot before reading anything more from this client.
            await connection.AcquireReadSlotAsync(aborted);

            // Wait for the next frame with a zero-byte read, so an idle connection holds no receive buffer; the buffer
            // is rented from the pool only while a message is being read (10,000 idle connections each kept 16 KiB).
            var first = await socket.ReceiveAsync(Memory<byte>.Empty, aborted);
            using var buffer = new PooledMessageBuffer();
            var (kind, tooLarge) = first.MessageType == WebSocketMessageType.Close
                ? (WebSocketMessageType.Close, false)
                : first.EndOfMessage
                    ? (first.MessageType, false)
                    : await ReceiveMessageAsync(socket, buffer, settings.MaxMessageBytes, aborted);
            if (kind == WebSocketMessageType.Close)
            {
                connection.ReleaseReadSlot();
                await state.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye");
                return state.CloseReason ?? "client closed";
            }

            state.Touch();
            if (tooLarge)
            {
                connection.ReleaseReadSlot();
                await connection.SendErrorAsync(default, -32600, $"Message too large: the limit is {settings.MaxMessageBytes} bytes.", aborted);
                await state.CloseAsync(WebSocketCloseStatus.MessageTooBig, "message too large");
                return "message too large";
            }

            if (kind == WebSocketMessageType.Binary)
            {
                connection.ReleaseReadSlot();
                await connection.SendErrorAsync(default, -32600, "Invalid request: send JSON-RPC messages as text frames.", aborted);
                continue;
            }

            if (!WebSocketServerTransport.TryParse(buffer.WrittenSpan, out var message, out var errorId, out var code, out var error))
            {
                connection.ReleaseReadSlot();
                Log.MalformedMessage(logger, connection.Id, code);
                await connection.SendErrorAsync(errorId, code, error, aborted);
                continue;
            }

            if (state.IsShuttingDown && message is JsonRpcRequest refused)
            {
                connection.ReleaseReadSlot();
                await connection.SendErrorAsync(refused.Id, -32000, "The server is shutting down; reconnect and retry.", aborted);
                continue;
            }

            await connection.DeliverAsync(message!, aborted);
        }
    }

    /// <summary>Reads frames until the end of one message, keeping at most <paramref name="limit"/> bytes.</summary>
    private static async Task<(WebSocketMessageType Kind, bool TooLarge)> ReceiveMessageAsync(WebSocket socket, PooledMessageBuffer buffer, int limit, CancellationToken cancellationToken)
    {
        while (true)
        {
            var memory = buffer.GetMemory(8 * 1024);
            var result = await socket.ReceiveAsync(memory, cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return (WebSocketMessageType.Close, false);
            }

            buffer.Advance(result.Count);
            if (buffer.WrittenCount > limit)
            {
                return (result.MessageType, true);
            }

            if (result.EndOfMessage)
            {
                return (result.MessageType, false);
            }
        }
    }

    /// <summary>The bytes of one incoming message, in arrays rented from the shared pool and returned when disposed.</summary>
    private sealed class PooledMessageBuffer : IDisposable
    {
        private byte[] _array = ArrayPool<byte>.Shared.Rent(8 * 1024);
        private int _count;

        public ReadOnlySpan<byte> WrittenSpan => _array.AsSpan(0, _count);

        public int WrittenCount => _count;

        public Memory<byte> GetMemory(int sizeHint)
        {
            if (_array.Length - _count < sizeHint)
            {
                var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_array.Length * 2, _count + sizeHint));
                _array.AsSpan(0, _count).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(_array);
                _array = larger;
            }

            return _array.AsMemory(_count);
        }

        public void Advance(int count) => _count += count;

        public void Dispose()
        {
            ArrayPool<byte>.Shared.Return(_array);
            _array = [];
            _count = 0;
        }
    }

    /// <summary>Idle and shutdown bookkeeping of one connection.</summary>
    private sealed class ConnectionLifetime(WebSocket socket, WebSocketConnection connection)
    {
        private int _closing;

        public WebSocket Socket { get; } = socket;

        public WebSocketConnection Connection { get; } = connection;

        public ITimer? IdleTimer { get; set; }

        public TimeSpan IdleTimeout { get; set; }

        public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

        public bool IsShuttingDown { get; private set; }

        public string? CloseReason { get; private set; }

        public void Touch() => IdleTimer?.Change(IdleTimeout, Timeout.InfiniteTimeSpan);

        public void OnIdleCheck()
        {
            var idleFor = TimeProvider.GetElapsedTime(Connection.LastActivity);
            if (Connection.RequestsInFlight > 0 || idleFor < IdleTimeout)
            {
                // Busy, or something was sent since the timer was armed: check again later.
                IdleTimer?.Change(Connection.RequestsInFlight > 0 ? IdleTimeout : IdleTimeout - idleFor, Timeout.InfiniteTimeSpan);
                return;
            }

            CloseReason = "idle timeout";
            _ = CloseAsync(WebSocketCloseStatus.NormalClosure, "idle timeout");
        }

        /// <summary>Stops taking requests; closes the connection once the last in-flight call has been answered.</summary>
        public void BeginShutdown()
        {
            IsShuttingDown = true;
            CloseReason = "server shutting down";
            Connection.ResponseSent += CloseWhenDrained;
            CloseWhenDrained();
        }

        public async Task CloseAsync(WebSocketCloseStatus status, string description)
        {
            if (Interlocked.Exchange(ref _closing, 1) != 0)
            {
                return;
            }

            try
            {
                if (Socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                {
                    using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                    await Socket.CloseOutputAsync(status, description, deadline.Token);
                }
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
                // Already broken; nothing left to close politely.
            }
        }

        private void CloseWhenDrained()
        {
            if (Connection.RequestsInFlight == 0)
            {
                _ = CloseAsync(WebSocketCloseStatus.EndpointUnavailable, "server shutting down");
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 5001, EventName = "WebSocketConnected", Level = LogLevel.Debug, Message = "WebSocket {ConnectionId} connected")]
        public static partial void Connected(ILogger logger, string connectionId);

        [LoggerMessage(EventId = 5002, EventName = "WebSocketDisconnected", Level = LogLevel.Debug, Message = "WebSocket {ConnectionId} closed: {Reason}")]
        public static partial void Disconnected(ILogger logger, string connectionId, string reason);

        [LoggerMessage(EventId = 5003, EventName = "WebSocketMalformedMessage", Level = LogLevel.Debug, Message = "WebSocket {ConnectionId} sent a message that was refused with JSON-RPC error {Code}")]
        public static partial void MalformedMessage(ILogger logger, string connectionId, int code);
    }
}
