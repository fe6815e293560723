using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Switchboard.Transports.Mcp;

/// <summary>
/// The live MCP connections that can receive server-initiated notifications, so a catalog change reaches every client:
/// <list type="bullet">
/// <item>2025-11-25 sessions (Streamable HTTP sessions, WebSocket connections, stdio) get a session-wide
/// <c>notifications/tools/list_changed</c>;</item>
/// <item>2026-07-28 clients get it only on a <c>subscriptions/listen</c> stream that asked for it, tagged with the
/// subscription id (the revision forbids sending notification types a client did not subscribe to).</item>
/// </list>
/// </summary>
internal sealed partial class McpSessionRegistry(Microsoft.Extensions.Hosting.IHostApplicationLifetime lifetime, ILogger<McpSessionRegistry> logger)
{
    private const string SubscriptionIdKey = "io.modelcontextprotocol/subscriptionId";

    // Running servers; the value is 1 for a server whose connection tells its client itself (see TrackConnection).
    private readonly ConcurrentDictionary<McpServer, byte> _sessions = new();
    private readonly ConcurrentDictionary<Subscription, byte> _subscriptions = new();
    private readonly ConcurrentDictionary<ConnectionSession, byte> _connections = new();

    /// <summary>Number of tracked running servers and subscriptions (diagnostics and tests).</summary>
    public (int Sessions, int Subscriptions) Count => (_sessions.Count, _subscriptions.Count);

    /// <summary>2025-11-25 sessions told of changes by their connection, whether a server runs for them or not (diagnostics and tests).</summary>
    public int ConnectionSessions => _connections.Count;

    /// <summary>
    /// Tracks a session until the returned handle is disposed. With <paramref name="connectionNotifies"/> the server is
    /// never told to send <c>list_changed</c>: its connection does (<see cref="TrackConnection"/>).
    /// </summary>
    public IDisposable Track(McpServer server, bool connectionNotifies = false)
    {
        ArgumentNullException.ThrowIfNull(server);
        _sessions.TryAdd(server, connectionNotifies ? (byte)1 : (byte)0);
        return new Registration(() => _sessions.TryRemove(server, out _));
    }

    /// <summary>
    /// Tracks a 2025-11-25 session that outlives its servers (a WebSocket connection lets its server go while quiet and
    /// replays the session into the next) until the handle is disposed: <paramref name="sendToolsListChanged"/> tells
    /// its client that the tool list changed. One entry for the session's life, so no change falls between two servers.
    /// </summary>
    public IDisposable TrackConnection(Func<CancellationToken, Task> sendToolsListChanged)
    {
        ArgumentNullException.ThrowIfNull(sendToolsListChanged);
        var session = new ConnectionSession(sendToolsListChanged);
        _connections.TryAdd(session, 0);
        return new Registration(() => _connections.TryRemove(session, out _));
    }

    /// <summary>
    /// Serves a 2026-07-28 <c>subscriptions/listen</c> request: acknowledges what is granted (first message on the
    /// stream), then holds the stream open until the client goes away, delivering granted notifications meanwhile.
    /// </summary>
    public async ValueTask<EmptyResult> ListenAsync(RequestContext<SubscriptionsListenRequestParams> request, CancellationToken cancellationToken)
    {
        var requested = request.Params?.Notifications ?? new SubscriptionsListenNotifications();
        var granted = new SubscriptionsListenNotifications { ToolsListChanged = requested.ToolsListChanged == true ? true : null };
        var subscription = new Subscription(request.Server, request.JsonRpcRequest.Id, granted);

        _subscriptions.TryAdd(subscription, 0);
        try
        {
            var acknowledgement = JsonSerializer.SerializeToNode(
                new SubscriptionsAcknowledgedNotificationParams { Notifications = granted },
                McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(SubscriptionsAcknowledgedNotificationParams)));
            await SendTaggedAsync(subscription, NotificationMethods.SubscriptionsAcknowledgedNotification, acknowledgement as JsonObject, cancellationToken);

            // The stream ends when the client goes away, or when the server begins a graceful shutdown (otherwise an open
            // subscription would hold the shutdown for its whole timeout).
            var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await using (cancellationToken.Register(static state => ((TaskCompletionSource)state!).TrySetResult(), closed))
            await using (lifetime.ApplicationStopping.Register(static state => ((TaskCompletionSource)state!).TrySetResult(), closed))
            {
                await closed.Task;
            }
        }
        finally
        {
            _subscriptions.TryRemove(subscription, out _);
        }

        return new EmptyResult();
    }

    /// <summary>Tells every connected client that the tool list changed.</summary>
    public async Task NotifyToolsListChangedAsync(CancellationToken cancellationToken)
    {
        foreach (var (server, connectionNotifies) in _sessions)
        {
            // A 2026-07-28 client on a long-lived connection gets notifications only through its subscriptions, and a
            // connection that has not said which revision it speaks yet (no initialize, no request) gets none.
            if (connectionNotifies == 1 || server.NegotiatedProtocolVersion is null || ProtocolVersions.IsModern(server.NegotiatedProtocolVersion))
            {
                continue;
            }

            try
            {
                await server.SendNotificationAsync(NotificationMethods.ToolListChangedNotification, cancellationToken: cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                Log.NotificationFailed(logger, ex.GetType().Name);
            }
        }

        foreach (var session in _connections.Keys)
        {
            try
            {
                await session.SendToolsListChanged(cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                Log.NotificationFailed(logger, ex.GetType().Name);
            }
        }

        foreach (var subscription in _subscriptions.Keys)
        {
            if (subscription.Granted.ToolsListChanged != true)
            {
                continue;
            }

            try
            {
                await SendTaggedAsync(subscription, NotificationMethods.ToolListChangedNotification, null, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                Log.NotificationFailed(logger, ex.GetType().Name);
            }
        }
    }

    private static Task SendTaggedAsync(Subscription subscription, string method, JsonObject? parameters, CancellationToken cancellationToken)
    {
        parameters ??= [];
        var meta = parameters["_meta"] as JsonObject ?? [];
        parameters["_meta"] = meta;
        meta[SubscriptionIdKey] = subscription.Id.Id switch
        {
            string s => JsonValue.Create(s),
            long l => JsonValue.Create(l),
            _ => JsonValue.Create(subscription.Id.ToString()),
        };
        return subscription.Server.SendNotificationAsync(method, parameters, cancellationToken: cancellationToken);
    }

    private sealed record Subscription(McpServer Server, RequestId Id, SubscriptionsListenNotifications Granted);

    // A class, not a record: two sessions are never equal, whatever their delegates.
    private sealed class ConnectionSession(Func<CancellationToken, Task> sendToolsListChanged)
    {
        public Func<CancellationToken, Task> SendToolsListChanged => sendToolsListChanged;
    }

    private sealed class Registration(Action remove) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                remove();
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4101, EventName = "ListChangedNotificationFailed", Level = LogLevel.Debug, Message = "Could not deliver tools/list_changed to a client ({ExceptionType}); it will see the change on its next tools/list")]
        public static partial void NotificationFailed(ILogger logger, string exceptionType);
    }
}

/// <summary>
/// Sends <c>tools/list_changed</c> to connected clients whenever what they may see can have changed: a new catalog
/// snapshot, or a new authorization policy taking effect (grants decide which tools a caller's list shows).
/// </summary>
internal sealed class ToolListChangedBroadcaster(Plugins.ToolCatalog catalog, Security.PolicyProvider policies, McpSessionRegistry registry) : Microsoft.Extensions.Hosting.IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        catalog.Changed += OnCatalogChanged;
        policies.Changed += OnPolicyChanged;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        catalog.Changed -= OnCatalogChanged;
        policies.Changed -= OnPolicyChanged;
        return Task.CompletedTask;
    }

    private void OnCatalogChanged(object? sender, Plugins.CatalogSnapshot snapshot)
        => _ = registry.NotifyToolsListChangedAsync(CancellationToken.None);

    private void OnPolicyChanged(object? sender, EventArgs e)
        => _ = registry.NotifyToolsListChangedAsync(CancellationToken.None);
}
