using System.Collections.Concurrent;
using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Switchboard.Plugins.Upstreams;

/// <summary>
/// One live MCP client session with an upstream, shared by every caller: the SDK's <see cref="McpClient"/> over stdio
/// (which owns the child process) or Streamable HTTP, the tool list it reported, and the routing of progress
/// notifications back to the callers that asked for them. Disposing it ends the session and, for stdio, the process.
/// </summary>
internal sealed partial class UpstreamConnection : IAsyncDisposable
{
    private static long s_nextProgressToken;
    private static long s_nextRequestId;

    private readonly McpClient _client;
    private readonly SessionCapturingTransport _transport;
    private readonly ConcurrentDictionary<string, ProgressRelay> _progress;
    private readonly CancellationTokenSource _lifetime = new();
    private readonly ILogger _logger;
    private readonly bool _isHttp;
    private int _disposed;

    private UpstreamConnection(McpClient client, SessionCapturingTransport transport, ConcurrentDictionary<string, ProgressRelay> progress, IReadOnlyList<Tool> tools, bool isHttp, ILogger logger)
    {
        _client = client;
        _isHttp = isHttp;
        _transport = transport;
        _progress = progress;
        Tools = tools;
        _logger = logger;
    }

    /// <summary>The tools the upstream listed when connected (refreshed by <see cref="ListToolsAsync"/>).</summary>
    public IReadOnlyList<Tool> Tools { get; private set; }

    /// <summary>Completes when the session ends for any reason (for stdio: with the exit code and stderr tail).</summary>
    public Task<ClientCompletionDetails> Completion => _client.Completion;

    public string? ProtocolVersion => _client.NegotiatedProtocolVersion;

    /// <summary>
    /// Starts the upstream, runs the MCP handshake and lists its tools. On failure nothing is left running, and the
    /// exception is an <see cref="UpstreamUnavailableException"/> whose message says why, without secrets.
    /// </summary>
    public static async Task<UpstreamConnection> ConnectAsync(
        string name,
        UpstreamServerOptions options,
        Action onToolListChanged,
        ILoggerFactory loggerFactory,
        TimeProvider timeProvider,
        CancellationToken cancellationToken)
    {
        var logger = loggerFactory.CreateLogger<UpstreamConnection>();
        var progress = new ConcurrentDictionary<string, ProgressRelay>(StringComparer.Ordinal);
        // Progress is routed as messages are read, in order: the SDK hands notifications and responses to handlers
        // concurrently, so a handler could otherwise see the last progress notification after the call has returned.
        var transport = new SessionCapturingTransport(
            CreateTransport(name, options, logger, loggerFactory),
            message =>
            {
                if (message is JsonRpcNotification { Method: NotificationMethods.ProgressNotification } notification)
                {
                    DispatchProgress(progress, notification);
                }
            });
        var clientOptions = new McpClientOptions
        {
            ClientInfo = new Implementation { Name = "switchboard", Title = "Switchboard gateway", Version = Transports.Mcp.McpServerOptionsSetup.ServerVersion },
            ProtocolVersion = options.ProtocolVersion,
            InitializationTimeout = options.StartTimeout,
            TimeProvider = timeProvider,
            Handlers = new McpClientHandlers
            {
                // The gateway advertises no client capabilities (no sampling, elicitation or roots), so upstreams cannot
                // send requests to callers through it; only these notifications are used.
                NotificationHandlers =
                [
                    new(NotificationMethods.ToolListChangedNotification, (_, _) =>
                    {
                        onToolListChanged();
                        return ValueTask.CompletedTask;
                    }),
                ],
            },
        };

        McpClient client;
        try
        {
            client = await McpClient.CreateAsync(transport, clientOptions, loggerFactory, cancellationToken);
        }
        catch (Exception ex)
        {
            var details = await transport.CloseAsync(timeProvider);
            throw new UpstreamUnavailableException(DescribeStartFailure(ex, details, options, cancellationToken), ex);
        }

        try
        {
            var tools = await ListAllToolsAsync(client, cancellationToken);
            var connection = new UpstreamConnection(client, transport, progress, tools, options.EffectiveTransport == UpstreamTransport.Http, logger);
            connection.SubscribeToListChangesIfModern();
            return connection;
        }
        catch (Exception ex)
        {
            await client.DisposeAsync();
            var details = await transport.CloseAsync(timeProvider);
            throw new UpstreamUnavailableException(DescribeStartFailure(ex, details, options, cancellationToken), ex);
        }
    }

    /// <summary>Lists the tools again (after the upstream announced a change).</summary>
    public async Task<IReadOnlyList<Tool>> ListToolsAsync(CancellationToken cancellationToken)
    {
        Tools = await ListAllToolsAsync(_client, cancellationToken);
        return Tools;
    }

    /// <summary>
    /// Calls a tool with the caller's arguments unchanged. Progress the upstream reports is handed to
    /// <paramref name="progress"/>; the caller's own <c>_meta</c> is not forwarded (it belongs to the caller's session).
    /// Cancelling <paramref name="cancellationToken"/> (the caller left, or the deadline passed) tells the upstream to stop.
    /// </summary>
    public async Task<CallToolResult> CallToolAsync(string tool, IDictionary<string, JsonElement>? arguments, ProgressRelay? progress, JsonObject? gatewayMeta, CancellationToken cancellationToken)
    {
        var parameters = new CallToolRequestParams { Name = tool, Arguments = arguments };

        // Only gateway-owned entries (the conversation state snapshot), never the caller's _meta.
        parameters.Meta = gatewayMeta?.DeepClone() as JsonObject;
        string? token = null;
        if (progress is not null)
        {
            // Our own token, unique on this connection: callers' tokens may collide with each other.
            token = "sb-" + Interlocked.Increment(ref s_nextProgressToken).ToString(System.Globalization.CultureInfo.InvariantCulture);
            parameters.Meta ??= [];
            parameters.Meta["progressToken"] = token;
            _progress[token] = progress;
        }

        // Our own request id, so a cancellation can name it: the SDK client (2.3.1) drops its own notifications/cancelled
        // when the token is cancelled, which would leave the upstream working for a caller that has gone.
        var id = new RequestId("sb-" + Interlocked.Increment(ref s_nextRequestId).ToString(System.Globalization.CultureInfo.InvariantCulture));
        var request = new JsonRpcRequest
        {
            Id = id,
            Method = RequestMethods.ToolsCall,
            Params = JsonSerializer.SerializeToNode(parameters, TypeInfo<CallToolRequestParams>()),
        };
        try
        {
            var response = await _client.SendRequestAsync(request, cancellationToken);
            return response.Result?.Deserialize(TypeInfo<CallToolResult>())
                ?? throw new JsonException("The upstream's tools/call result was empty.");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _ = SendCancelledAsync(id);
            throw;
        }
        finally
        {
            if (token is not null)
            {
                _progress.TryRemove(token, out _);
            }
        }
    }

    /// <summary>
    /// Tells the upstream to stop working on a request. Over 2026-07-28 Streamable HTTP the aborted request stream is
    /// the cancellation and the notification is not used; everywhere else it is <c>notifications/cancelled</c>.
    /// </summary>
    private async Task SendCancelledAsync(RequestId id)
    {
        if (_isHttp && string.Equals(_client.NegotiatedProtocolVersion, "2026-07-28", StringComparison.Ordinal))
        {
            return;
        }

        try
        {
            var parameters = new CancelledNotificationParams { RequestId = id, Reason = "The caller cancelled the call or its timeout passed." };
            await _client.SendNotificationAsync(NotificationMethods.CancelledNotification, parameters, McpJsonUtilities.DefaultOptions, _lifetime.Token);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.CancelNotSent(_logger, ex.GetType().Name);
        }
    }

    /// <summary>Describes why the session ended, for callers and logs: exit code for processes, never stderr or exception text.</summary>
    public static string DescribeEnd(ClientCompletionDetails? details) => details switch
    {
        StdioClientCompletionDetails { ExitCode: { } code } => $"the process exited with code {code}",
        StdioClientCompletionDetails => "the process exited",
        { Exception: HttpRequestException http } => DescribeHttp(http),
        { Exception: not null } => "the connection was lost",
        _ => "the connection was closed",
    };

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _lifetime.CancelAsync();
        foreach (var relay in _progress.Values)
        {
            relay.Stop();
        }

        try
        {
            // Closes the session; for stdio the SDK closes the child's input, waits ShutdownTimeout, then kills the tree.
            await _client.DisposeAsync();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.DisposeFailed(_logger, ex.GetType().Name);
        }

        await _transport.DisposeAsync();
        _lifetime.Dispose();
    }

    private static IClientTransport CreateTransport(string name, UpstreamServerOptions options, ILogger logger, ILoggerFactory loggerFactory)
    {
        if (options.EffectiveTransport == UpstreamTransport.Http)
        {
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var (header, value) in options.Headers)
            {
                headers[header] = Resolve(value, $"Switchboard:Upstreams:{name}:Headers:{header}");
            }

            // A handler of our own: no cookies, no redirects (a redirect would carry the configured credentials to
            // another host), nothing shared with the gateway's inbound side, so no caller header can travel upstream.
            var handler = new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                UseCookies = false,
                ConnectTimeout = options.StartTimeout,
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            };
            var http = new HttpClient(handler) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
            return new HttpClientTransport(
                new HttpClientTransportOptions
                {
                    Endpoint = new Uri(options.Url!, UriKind.Absolute),
                    TransportMode = HttpTransportMode.StreamableHttp,
                    Name = "upstream-" + name,
                    AdditionalHeaders = headers,
                    ConnectionTimeout = options.StartTimeout,
                },
                http,
                loggerFactory,
                ownsHttpClient: true);
        }

        var environment = options.InheritEnvironment
            ? new Dictionary<string, string?>(StringComparer.Ordinal)
            : StdioClientTransportOptions.GetDefaultEnvironmentVariables();
        foreach (var (variable, value) in options.Environment)
        {
            environment[variable] = Resolve(value ?? string.Empty, $"Switchboard:Upstreams:{name}:Environment:{variable}");
        }

        var command = UpstreamCommand.Resolve(options.Command!)
            ?? throw new UpstreamUnavailableException($"its command '{options.Command}' was not found");
        return new StdioClientTransport(
            new StdioClientTransportOptions
            {
                Command = command,
                Arguments = [.. options.Arguments],
                WorkingDirectory = options.WorkingDirectory is { } directory ? Path.GetFullPath(directory) : null,
                Name = "upstream-" + name,
                InheritEnvironmentVariables = options.InheritEnvironment,
                EnvironmentVariables = environment,
                ShutdownTimeout = options.ShutdownTimeout,
                StandardErrorLines = line => Log.StandardError(logger, name, line),
            },
            loggerFactory);

        static string Resolve(string value, string setting)
            => UpstreamSecrets.TryResolve(value, setting, out var resolved, out var problem)
                ? resolved
                : throw new UpstreamUnavailableException(problem!);
    }

    private static async Task<IReadOnlyList<Tool>> ListAllToolsAsync(McpClient client, CancellationToken cancellationToken)
    {
        if (client.ServerCapabilities.Tools is null)
        {
            return [];
        }

        var tools = await client.ListToolsAsync(cancellationToken: cancellationToken);
        return tools.Select(t => t.ProtocolTool).ToArray();
    }

    private static void DispatchProgress(ConcurrentDictionary<string, ProgressRelay> relays, JsonRpcNotification notification)
    {
        if (notification.Params is null)
        {
            return;
        }

        try
        {
            var parameters = notification.Params.Deserialize(TypeInfo<ProgressNotificationParams>());
            if (parameters?.ProgressToken.Token is string token && relays.TryGetValue(token, out var relay))
            {
                relay.Report(parameters.Progress);
            }
        }
        catch (JsonException)
        {
            // A malformed notification from the upstream is dropped; it never reaches a caller.
        }
    }

    /// <summary>On 2026-07-28 sessions list changes arrive only on a <c>subscriptions/listen</c> stream, held open for the session's life.</summary>
    private void SubscribeToListChangesIfModern()
    {
        if (!string.Equals(_client.NegotiatedProtocolVersion, "2026-07-28", StringComparison.Ordinal)
            || _client.ServerCapabilities.Tools?.ListChanged != true)
        {
            return;
        }

        _ = ListenAsync(_lifetime.Token);

        async Task ListenAsync(CancellationToken cancellationToken)
        {
            try
            {
                var parameters = new SubscriptionsListenRequestParams { Notifications = new SubscriptionsListenNotifications { ToolsListChanged = true } };
                await _client.SendRequestAsync(
                    new JsonRpcRequest { Method = RequestMethods.SubscriptionsListen, Params = JsonSerializer.SerializeToNode(parameters, TypeInfo<SubscriptionsListenRequestParams>()) },
                    cancellationToken);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                if (!cancellationToken.IsCancellationRequested)
                {
                    Log.ListenEnded(_logger, ex.GetType().Name);
                }
            }
        }
    }

    private static string DescribeStartFailure(Exception exception, ClientCompletionDetails? details, UpstreamServerOptions options, CancellationToken cancellationToken)
    {
        if (exception is UpstreamUnavailableException configured)
        {
            return configured.Message;
        }

        // First: a process killed because it took too long also has an exit code, which would mislead.
        if (exception is TimeoutException || (exception is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            return $"it did not complete the MCP handshake within {PluginInvocationHandler.FormatDuration(options.StartTimeout)}";
        }

        if (details is StdioClientCompletionDetails { ExitCode: { } code })
        {
            return $"the process exited with code {code} during start-up";
        }

        for (var inner = exception; inner is not null; inner = inner.InnerException)
        {
            switch (inner)
            {
                case Win32Exception:
                    return "its command could not be started";
                case HttpRequestException http:
                    return DescribeHttp(http);
            }
        }

        return exception is McpException
            ? "the MCP handshake failed"
            : $"start-up failed ({exception.GetType().Name})";
    }

    internal static string DescribeHttp(HttpRequestException exception) => exception.StatusCode is { } status
        ? $"it answered HTTP {(int)status} {status}"
        : exception.HttpRequestError switch
        {
            HttpRequestError.ConnectionError => "its endpoint refused or dropped the connection",
            HttpRequestError.NameResolutionError => "its host name could not be resolved",
            HttpRequestError.SecureConnectionError => "the TLS handshake failed",
            HttpRequestError.ResponseEnded => "the connection ended before the answer was complete",
            _ => "its endpoint could not be reached",
        };

    private static JsonTypeInfo<T> TypeInfo<T>() => (JsonTypeInfo<T>)McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(T));

    /// <summary>
    /// Wraps the SDK transport to keep hold of the session it opens: when the handshake fails the SDK does not always
    /// close it, and the session's completion carries the exit code that explains the failure.
    /// </summary>
    private sealed class SessionCapturingTransport(IClientTransport inner, Action<JsonRpcMessage> observe) : IClientTransport, IAsyncDisposable
    {
        private ITransport? _session;

        public string Name => inner.Name;

        public async Task<ITransport> ConnectAsync(CancellationToken cancellationToken = default)
        {
            var session = new ObservedTransport(await inner.ConnectAsync(cancellationToken), observe);
            _session = session;
            return session;
        }

        /// <summary>Closes the session (ending the process) and returns how it ended, if it says.</summary>
        public async Task<ClientCompletionDetails?> CloseAsync(TimeProvider timeProvider)
        {
            if (_session is not { } session)
            {
                return null;
            }

            try
            {
                await session.DisposeAsync();
                await session.MessageReader.Completion.WaitAsync(TimeSpan.FromSeconds(1), timeProvider);
            }
            catch (ClientTransportClosedException closed)
            {
                return closed.Details;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                return null;
            }
            finally
            {
                await DisposeAsync();
            }

            return null;
        }

        public async ValueTask DisposeAsync()
        {
            if (inner is IAsyncDisposable disposable)
            {
                await disposable.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// Passes a session's incoming messages through unchanged, showing each to an observer first, in arrival order.
    /// The channel completes as the inner one did (with its exception), so the client's completion details survive.
    /// </summary>
    private sealed class ObservedTransport : ITransport
    {
        private readonly ITransport _inner;
        private readonly Action<JsonRpcMessage> _observe;
        private readonly System.Threading.Channels.Channel<JsonRpcMessage> _messages = System.Threading.Channels.Channel.CreateUnbounded<JsonRpcMessage>(
            new System.Threading.Channels.UnboundedChannelOptions { SingleReader = false, SingleWriter = true });

        private readonly Task _pump;

        public ObservedTransport(ITransport inner, Action<JsonRpcMessage> observe)
        {
            _inner = inner;
            _observe = observe;
            _pump = Task.Run(PumpAsync);
        }

        public string? SessionId => _inner.SessionId;

        public System.Threading.Channels.ChannelReader<JsonRpcMessage> MessageReader => _messages.Reader;

        public Task SendMessageAsync(JsonRpcMessage message, CancellationToken cancellationToken = default) => _inner.SendMessageAsync(message, cancellationToken);

        public async ValueTask DisposeAsync()
        {
            await _inner.DisposeAsync();
            await _pump;
        }

        private async Task PumpAsync()
        {
            Exception? error = null;
            try
            {
                var reader = _inner.MessageReader;
                while (await reader.WaitToReadAsync())
                {
                    while (reader.TryRead(out var message))
                    {
                        try
                        {
                            _observe(message);
                        }
                        catch (Exception ex) when (ex is not OutOfMemoryException)
                        {
                            // An observer failure must not break the session.
                        }

                        _messages.Writer.TryWrite(message);
                    }
                }

                if (reader.Completion.IsFaulted)
                {
                    error = reader.Completion.Exception?.InnerException;
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                error = ex;
            }

            _messages.Writer.TryComplete(error);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2240, EventName = "UpstreamStandardError", Level = LogLevel.Debug, Message = "Upstream {Upstream} stderr: {Line}")]
        public static partial void StandardError(ILogger logger, string upstream, string line);

        [LoggerMessage(EventId = 2241, EventName = "UpstreamListenEnded", Level = LogLevel.Debug, Message = "Upstream subscriptions/listen stream ended ({ExceptionType}); list changes will be seen on the next restart")]
        public static partial void ListenEnded(ILogger logger, string exceptionType);

        [LoggerMessage(EventId = 2243, EventName = "UpstreamCancelNotSent", Level = LogLevel.Debug, Message = "Could not tell an upstream that a call was cancelled ({ExceptionType})")]
        public static partial void CancelNotSent(ILogger logger, string exceptionType);

        [LoggerMessage(EventId = 2242, EventName = "UpstreamDisposeFailed", Level = LogLevel.Debug, Message = "Closing an upstream session failed ({ExceptionType})")]
        public static partial void DisposeFailed(ILogger logger, string exceptionType);
    }
}
