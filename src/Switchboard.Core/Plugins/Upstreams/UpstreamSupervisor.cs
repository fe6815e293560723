using System.Text.Json;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Logging;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Polly;
using Polly.CircuitBreaker;
using Polly.RateLimiting;
using Switchboard.Pipeline;

namespace Switchboard.Plugins.Upstreams;

/// <summary>
/// Supervises one upstream MCP server: one shared connection for every caller (never one per client session), started
/// lazily or eagerly, restarted with exponential back-off when it crashes or fails to start, stopped when idle, and
/// guarded by a concurrency limiter and a circuit breaker (Polly). Every way a call can fail comes back as an
/// <c>isError</c> result naming the upstream, except a deadline, which becomes the cancellation the invocation handler
/// reports as a timeout.
/// </summary>
internal sealed partial class UpstreamSupervisor : IAsyncDisposable
{
    private const string CircuitOpenReason = "too many of its recent calls failed or timed out, so calls to it are paused";

    private readonly Lock _gate = new();
    private readonly UpstreamServerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _pipeline;
    private readonly CancellationTokenSource _lifetime = new();
    private readonly ITimer? _idleTimer;

    private UpstreamConnection? _connection;
    private Task<UpstreamConnection>? _starting;
    private int _consecutiveFailures;
    private string? _downReason;
    private DateTimeOffset _retryAt;
    private DateTimeOffset? _circuitOpenUntil;
    private int _inFlight;
    private long _lastActivity;
    private IReadOnlyList<Tool>? _tools;
    private string? _toolsFingerprint;
    private long _toolsVersion;
    private int _listChangedPending;
    private int _refreshing;
    private bool _disposed;

    public UpstreamSupervisor(string name, UpstreamServerOptions options, TimeProvider timeProvider, ILoggerFactory loggerFactory)
    {
        Name = name;
        _options = options;
        _time = timeProvider;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<UpstreamSupervisor>();
        _lastActivity = timeProvider.GetTimestamp();
        if (options.IdleTimeout is not null)
        {
            _idleTimer = timeProvider.CreateTimer(static state => ((UpstreamSupervisor)state!).OnIdleTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }

        var breaker = options.CircuitBreaker;
        _pipeline = new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            // Outermost, so a refused call never reaches (or counts in) the circuit breaker.
            .AddConcurrencyLimiter(new ConcurrencyLimiterOptions
            {
                PermitLimit = options.MaxConcurrency,
                QueueLimit = options.MaxQueuedCalls,
                QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            })
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = breaker.FailureRatio,
                MinimumThroughput = breaker.MinimumThroughput,
                SamplingDuration = breaker.SamplingDuration,
                BreakDuration = breaker.BreakDuration,
                // Transport failures and timeouts only: an isError result or a JSON-RPC error means the upstream is
                // alive and answering, and a caller's own cancellation says nothing about the upstream.
                ShouldHandle = new PredicateBuilder().Handle<UpstreamCallFailedException>().Handle<UpstreamTimeoutException>(),
                OnOpened = args =>
                {
                    OnCircuitOpened(args.BreakDuration);
                    return ValueTask.CompletedTask;
                },
                OnClosed = _ =>
                {
                    OnCircuitClosed();
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    /// <summary>The upstream's name, which is also its plugin name.</summary>
    public string Name { get; }

    public UpstreamServerOptions Options => _options;

    /// <summary>Where the plugin comes from, for error messages: transport and program or endpoint, never secrets.</summary>
    public string Source => _options.EffectiveTransport == UpstreamTransport.Http
        ? $"upstream MCP server '{Name}' at {DescribeUrl(_options.Url)}"
        : $"upstream MCP server '{Name}' (stdio: {Path.GetFileName(_options.Command)})";

    /// <summary>Raised (outside any lock) when the tool list or the availability changed.</summary>
    public event Action<UpstreamSupervisor>? Changed;

    /// <summary>The last tool list the upstream reported (or the cached one); null while unknown.</summary>
    public IReadOnlyList<Tool>? Tools
    {
        get
        {
            lock (_gate)
            {
                return _tools;
            }
        }
    }

    /// <summary>Increases whenever <see cref="Tools"/> changes.</summary>
    public long ToolsVersion => Interlocked.Read(ref _toolsVersion);

    /// <summary>True while a connection is up.</summary>
    public bool IsRunning
    {
        get
        {
            lock (_gate)
            {
                return _connection is not null;
            }
        }
    }

    public UpstreamStatus Status
    {
        get
        {
            lock (_gate)
            {
                if (_downReason is not null)
                {
                    return new UpstreamStatus(false, _downReason, _retryAt);
                }

                return _circuitOpenUntil is { } until
                    ? new UpstreamStatus(false, CircuitOpenReason, until)
                    : new UpstreamStatus(true, null, null);
            }
        }
    }

    /// <summary>Uses a previously cached tool list until the upstream reports its own.</summary>
    public void SeedTools(IReadOnlyList<Tool> tools)
    {
        lock (_gate)
        {
            if (_tools is null)
            {
                UpdateToolsLocked(tools);
            }
        }
    }

    /// <summary>Starts the upstream now unless it runs; false (with the failure recorded and a restart planned) when it cannot.</summary>
    public async Task<bool> TryStartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await GetConnectionAsync(cancellationToken);
            return true;
        }
        catch (UpstreamUnavailableException)
        {
            return false;
        }
    }

    /// <summary>Stops the connection on purpose (no restart follows); the next call starts it again.</summary>
    public async Task StopAsync()
    {
        UpstreamConnection? connection;
        lock (_gate)
        {
            connection = _connection;
            _connection = null;
        }

        if (connection is not null)
        {
            await connection.DisposeAsync();
        }
    }

    /// <summary>Calls one of the upstream's tools for a caller.</summary>
    public async ValueTask<CallToolResult> CallAsync(string tool, ToolInvocation invocation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        if (RefuseWhileDown() is { } refusal)
        {
            return refusal;
        }

        try
        {
            return await _pipeline.ExecuteAsync(
                static (state, token) => state.Self.CallThroughAsync(state.Tool, state.Invocation, token),
                (Self: this, Tool: tool, Invocation: invocation),
                cancellationToken);
        }
        catch (BrokenCircuitException ex)
        {
            var wait = ex.RetryAfter ?? _options.CircuitBreaker.BreakDuration;
            return ToolCallOutcome.ToolErrorResult($"Upstream server '{Name}' is unavailable: {CircuitOpenReason}. Try again in about {FormatWait(wait)}.");
        }
        catch (RateLimiterRejectedException)
        {
            Log.CallRefusedBusy(_logger, Name, _options.MaxConcurrency, _options.MaxQueuedCalls);
            return ToolCallOutcome.ToolErrorResult(
                $"Upstream server '{Name}' is busy: {_options.MaxConcurrency} calls are running and no more may wait. Try again shortly.");
        }
        catch (UpstreamUnavailableException ex)
        {
            return ToolCallOutcome.ToolErrorResult(ex.Message);
        }
        catch (UpstreamCallFailedException ex)
        {
            return ToolCallOutcome.ToolErrorResult(ex.Message);
        }
        catch (UpstreamTimeoutException)
        {
            // The invocation handler owns the timeout message (and knows which timeout applied).
            throw new OperationCanceledException(cancellationToken);
        }
    }

    private CallToolResult? RefuseWhileDown()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return ToolCallOutcome.ToolErrorResult($"Upstream server '{Name}' is unavailable: the gateway is shutting down.");
            }

            if (_downReason is not null && _starting is null && _connection is null && _time.GetUtcNow() < _retryAt)
            {
                return ToolCallOutcome.ToolErrorResult(UnavailableMessage(_downReason, _retryAt - _time.GetUtcNow()));
            }
        }

        return null;
    }

    private async ValueTask<CallToolResult> CallThroughAsync(string tool, ToolInvocation invocation, CancellationToken cancellationToken)
    {
        UpstreamConnection? connection = null;
        var relay = CreateProgressRelay(invocation);
        Interlocked.Increment(ref _inFlight);
        try
        {
            connection = await GetConnectionAsync(cancellationToken);
            var result = await connection.CallToolAsync(tool, invocation.Arguments, relay, invocation.PluginMeta, cancellationToken);
            Volatile.Write(ref _consecutiveFailures, 0);
            return result;
        }
        catch (McpProtocolException ex) when (connection is not null)
        {
            // The upstream answered with a JSON-RPC error: it is healthy, the call was wrong (unknown tool, bad
            // arguments). Shown to the model as a tool error it can act on.
            Volatile.Write(ref _consecutiveFailures, 0);
            const string remotePrefix = "Request failed (remote): ";
            var message = ex.Message.StartsWith(remotePrefix, StringComparison.Ordinal) ? ex.Message[remotePrefix.Length..] : ex.Message;
            return ToolCallOutcome.ToolErrorResult(
                $"Upstream server '{Name}' rejected the call to tool '{invocation.Tool.Name}' (JSON-RPC error {(int)ex.ErrorCode}): {Truncate(message)}");
        }
        catch (McpException ex) when (connection is not null && ex is not McpProtocolException)
        {
            // The session is fine but the exchange could not be completed by the SDK client (for example the upstream
            // asked for the caller's input, which is not relayed). Not a transport failure.
            return ToolCallOutcome.ToolErrorResult(
                $"Upstream server '{Name}' could not complete tool '{invocation.Tool.Name}': {Truncate(ex.Message)}");
        }
        catch (OperationCanceledException) when (invocation.CallerCancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw new UpstreamTimeoutException();
        }
        catch (UpstreamUnavailableException)
        {
            throw;
        }
        catch (Exception ex) when (connection is not null && ex is not OutOfMemoryException)
        {
            var reason = await DescribeCallFailureAsync(connection, ex);
            Log.CallFailed(_logger, Name, tool, reason);
            if (_options.EffectiveTransport == UpstreamTransport.Http)
            {
                OnConnectionBroken(connection, reason);
            }

            throw new UpstreamCallFailedException(
                $"Upstream server '{Name}' failed while running tool '{invocation.Tool.Name}': {reason}. The call did not complete and may or " +
                "may not have taken effect. Switchboard restarts or reconnects the server automatically; try again in a few seconds.",
                ex);
        }
        finally
        {
            if (relay is not null)
            {
                await relay.DrainAsync(_time);
            }

            Volatile.Write(ref _lastActivity, _time.GetTimestamp());
            Interlocked.Decrement(ref _inFlight);
            ArmIdleTimer();
        }
    }

    private ProgressRelay? CreateProgressRelay(ToolInvocation invocation)
    {
        if (invocation.ProgressToken is not { } token || invocation.McpRequest?.Server is not { } server)
        {
            return null;
        }

        var callerCancellation = invocation.CallerCancellationToken;
        return new ProgressRelay(async value =>
        {
            try
            {
                // The caller's request context routes the notification onto the caller's own response stream.
                await server.NotifyProgressAsync(token, value, cancellationToken: callerCancellation);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Log.ProgressRelayFailed(_logger, Name, ex.GetType().Name);
            }
        });
    }

    private async Task<string> DescribeCallFailureAsync(UpstreamConnection connection, Exception exception)
    {
        for (var inner = exception; inner is not null; inner = inner.InnerException)
        {
            if (inner is HttpRequestException http)
            {
                return UpstreamConnection.DescribeHttp(http);
            }

            if (inner is JsonException)
            {
                return "its answer could not be read";
            }
        }

        try
        {
            // A crash fails the pending calls as the session closes; its details (the exit code) follow at once.
            var details = await connection.Completion.WaitAsync(TimeSpan.FromMilliseconds(500), _time);
            return UpstreamConnection.DescribeEnd(details);
        }
        catch (TimeoutException)
        {
            return "the connection failed";
        }
    }

    private void RaiseChanged()
    {
        try
        {
            Changed?.Invoke(this);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.ChangeHandlerFailed(_logger, Name, ex.GetType().Name);
        }
    }

    private string UnavailableMessage(string reason, TimeSpan wait)
        => $"Upstream server '{Name}' is unavailable: {reason}. Switchboard restarts it automatically; try again in about {FormatWait(wait)}.";

    private static string Truncate(string message) => message.Length > 1000 ? message[..1000] + "…" : message;

    internal static string FormatWait(TimeSpan wait) => wait <= TimeSpan.Zero
        ? "a moment"
        : wait < TimeSpan.FromSeconds(1) ? "1 s" : $"{Math.Ceiling(wait.TotalSeconds):0} s";

    private static string DescribeUrl(string? url)
        => Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri.GetLeftPart(UriPartial.Path) : "(invalid URL)";
}
