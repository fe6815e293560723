using System.Text.Json;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Switchboard.Plugins.Upstreams;

/// <summary>The lifecycle half of the supervisor: the shared connection, starts, restarts with back-off, idle stop, circuit events and tool-list refreshes.</summary>
internal sealed partial class UpstreamSupervisor
{
    public async ValueTask DisposeAsync()
    {
        UpstreamConnection? connection;
        Task? starting;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            connection = _connection;
            _connection = null;
            starting = _starting;
        }

        await _lifetime.CancelAsync();
        _idleTimer?.Dispose();
        if (starting is not null)
        {
            // A start cut short by the cancellation above closes what it had opened before it completes.
            try
            {
                await starting;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Already logged by the start itself.
            }
        }

        if (connection is not null)
        {
            await connection.DisposeAsync();
            Log.Stopped(_logger, Name, "the gateway is stopping");
        }
    }

    /// <summary>The shared connection: the running one, the start in progress, or a new start (never one per caller).</summary>
    private async Task<UpstreamConnection> GetConnectionAsync(CancellationToken cancellationToken)
    {
        Task<UpstreamConnection> start;
        lock (_gate)
        {
            if (_disposed)
            {
                throw new UpstreamUnavailableException($"Upstream server '{Name}' is unavailable: the gateway is shutting down.");
            }

            if (_connection is { } connection)
            {
                return connection;
            }

            if (_starting is null && _downReason is not null && _time.GetUtcNow() < _retryAt)
            {
                throw new UpstreamUnavailableException(UnavailableMessage(_downReason, _retryAt - _time.GetUtcNow()));
            }

            start = _starting ?? BeginStartLocked();
        }

        // Callers wait for the shared start with their own deadline; leaving does not abort the start for others.
        return await start.WaitAsync(cancellationToken);
    }

    private Task<UpstreamConnection> BeginStartLocked()
    {
        var start = Task.Run(StartCoreAsync);
        _starting = start;
        return start;
    }

    private async Task<UpstreamConnection> StartCoreAsync()
    {
        Log.Starting(_logger, Name, _options.EffectiveTransport?.ToString() ?? "?");
        UpstreamConnection connection;
        try
        {
            using var timeout = new CancellationTokenSource(_options.StartTimeout, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(_lifetime.Token, timeout.Token);
            connection = await UpstreamConnection.ConnectAsync(Name, _options, OnToolListChanged, _loggerFactory, _time, linked.Token);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            if (_lifetime.IsCancellationRequested)
            {
                lock (_gate)
                {
                    _starting = null;
                }

                throw new UpstreamUnavailableException($"Upstream server '{Name}' is unavailable: the gateway is shutting down.", ex);
            }

            var reason = ex is UpstreamUnavailableException ? ex.Message : $"start-up failed ({ex.GetType().Name})";
            TimeSpan delay;
            bool becameDown;
            lock (_gate)
            {
                _starting = null;
                becameDown = _downReason is null;
                delay = RecordFailureLocked("it could not be started: " + reason);
            }

            Log.StartFailed(_logger, Name, reason, delay.TotalMilliseconds);
            ScheduleRestart(delay);
            if (becameDown)
            {
                RaiseChanged();
            }

            throw new UpstreamUnavailableException(
                $"Upstream server '{Name}' could not be started: {reason}. Switchboard tries again in about {FormatWait(delay)}.", ex);
        }

        bool changed;
        bool disposed;
        lock (_gate)
        {
            _starting = null;
            disposed = _disposed;
            changed = false;
            if (!disposed)
            {
                _connection = connection;
                changed = _downReason is not null | UpdateToolsLocked(connection.Tools);
                _downReason = null;
                _lastActivity = _time.GetTimestamp();
            }
        }

        if (disposed)
        {
            await connection.DisposeAsync();
            throw new UpstreamUnavailableException($"Upstream server '{Name}' is unavailable: the gateway is shutting down.");
        }

        _ = connection.Completion.ContinueWith(
            static (completion, state) =>
            {
                var (self, ended) = ((UpstreamSupervisor, UpstreamConnection))state!;
                self.OnConnectionEnded(ended, completion);
            },
            (this, connection),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        ArmIdleTimer();
        Log.Started(_logger, Name, connection.Tools.Count, connection.ProtocolVersion ?? "?");
        if (changed)
        {
            RaiseChanged();
        }

        if (Volatile.Read(ref _listChangedPending) == 1)
        {
            _ = RefreshToolsAsync();
        }

        return connection;
    }

    /// <summary>Counts a failure and returns the back-off before the next start: initial delay doubled per failure, capped, ±20 % jitter.</summary>
    private TimeSpan RecordFailureLocked(string reason)
    {
        var failures = ++_consecutiveFailures;
        var restart = _options.Restart;
        var exponential = restart.InitialDelay.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 30));
        var capped = Math.Min(exponential, restart.MaxDelay.TotalMilliseconds);
        var jittered = capped * (0.8 + (0.4 * Random.Shared.NextDouble()));
        var delay = TimeSpan.FromMilliseconds(Math.Max(1, jittered));
        _downReason = reason;
        _retryAt = _time.GetUtcNow() + delay;
        return delay;
    }

    private void ScheduleRestart(TimeSpan delay) => _ = RestartAfterAsync(delay);

    private async Task RestartAfterAsync(TimeSpan delay)
    {
        try
        {
            await Task.Delay(delay, _time, _lifetime.Token);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        Task<UpstreamConnection> start;
        lock (_gate)
        {
            if (_disposed || _connection is not null || _starting is not null || _downReason is null)
            {
                return;
            }

            start = BeginStartLocked();
        }

        try
        {
            await start;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The start recorded the failure and planned the next attempt.
        }
    }

    private void OnConnectionEnded(UpstreamConnection connection, Task<ClientCompletionDetails> completion)
    {
        var details = completion.IsCompletedSuccessfully ? completion.Result : null;
        OnConnectionBroken(connection, UpstreamConnection.DescribeEnd(details));
    }

    /// <summary>
    /// The connection is gone (the process exited, or an HTTP exchange failed at transport level): drop it, mark the
    /// upstream down and plan a restart with back-off. Over HTTP a failed exchange usually means a restarted server
    /// that no longer knows the session, or one that is down; a fresh connection settles either.
    /// </summary>
    private void OnConnectionBroken(UpstreamConnection connection, string end)
    {
        TimeSpan delay;
        lock (_gate)
        {
            if (!ReferenceEquals(_connection, connection) || _disposed)
            {
                return; // Stopped on purpose (idle, recycle, shutdown).
            }

            _connection = null;
            delay = RecordFailureLocked($"it stopped unexpectedly ({end}) and is being restarted");
        }

        Log.Crashed(_logger, Name, end, delay.TotalMilliseconds);
        ScheduleRestart(delay);
        RaiseChanged();
        _ = connection.DisposeAsync().AsTask();
    }

    private void OnCircuitOpened(TimeSpan breakDuration)
    {
        UpstreamConnection? recycle;
        lock (_gate)
        {
            _circuitOpenUntil = _time.GetUtcNow() + breakDuration;
            recycle = _connection;
            _connection = null;
        }

        Log.CircuitOpened(_logger, Name, breakDuration.TotalMilliseconds);
        RaiseChanged();
        if (recycle is not null)
        {
            // A hung or garbage-speaking process rarely heals by itself: replace the connection, so the trial call
            // after the break meets a fresh one.
            _ = RecycleAsync(recycle);
        }
    }

    private async Task RecycleAsync(UpstreamConnection connection)
    {
        await connection.DisposeAsync();
        Task<UpstreamConnection> start;
        lock (_gate)
        {
            if (_disposed || _connection is not null || _starting is not null || _downReason is not null)
            {
                return;
            }

            start = BeginStartLocked();
        }

        try
        {
            await start;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Recorded by the start.
        }
    }

    private void OnCircuitClosed()
    {
        lock (_gate)
        {
            _circuitOpenUntil = null;
        }

        Log.CircuitClosed(_logger, Name);
        RaiseChanged();
    }

    private void ArmIdleTimer()
    {
        if (_idleTimer is not null && _options.IdleTimeout is { } idle)
        {
            try
            {
                _idleTimer.Change(idle, Timeout.InfiniteTimeSpan);
            }
            catch (ObjectDisposedException)
            {
                // Shutting down.
            }
        }
    }

    private void OnIdleTimer()
    {
        UpstreamConnection? connection;
        lock (_gate)
        {
            if (_disposed || _connection is null || Volatile.Read(ref _inFlight) > 0)
            {
                return; // The timer is armed again when the last call ends.
            }

            var idle = _time.GetElapsedTime(Volatile.Read(ref _lastActivity));
            if (idle < _options.IdleTimeout!.Value)
            {
                _idleTimer!.Change(_options.IdleTimeout.Value - idle, Timeout.InfiniteTimeSpan);
                return;
            }

            connection = _connection;
            _connection = null;
        }

        Log.Stopped(_logger, Name, "it was idle");
        _ = connection.DisposeAsync().AsTask();
    }

    private void OnToolListChanged()
    {
        Volatile.Write(ref _listChangedPending, 1);
        _ = RefreshToolsAsync();
    }

    /// <summary>Lists the tools again after the upstream announced a change; one refresh at a time, repeated while more announcements arrive.</summary>
    private async Task RefreshToolsAsync()
    {
        if (Interlocked.Exchange(ref _refreshing, 1) == 1)
        {
            return;
        }

        try
        {
            while (Volatile.Read(ref _listChangedPending) == 1)
            {
                UpstreamConnection? connection;
                lock (_gate)
                {
                    connection = _connection;
                }

                if (connection is null || _lifetime.IsCancellationRequested)
                {
                    return; // A start lists the tools anyway, and picks up a pending change after that.
                }

                Volatile.Write(ref _listChangedPending, 0);
                try
                {
                    using var timeout = new CancellationTokenSource(_options.StartTimeout, _time);
                    using var linked = CancellationTokenSource.CreateLinkedTokenSource(_lifetime.Token, timeout.Token);
                    var tools = await connection.ListToolsAsync(linked.Token);
                    bool changed;
                    lock (_gate)
                    {
                        changed = ReferenceEquals(_connection, connection) && UpdateToolsLocked(tools);
                    }

                    if (changed)
                    {
                        Log.ToolsChanged(_logger, Name, tools.Count);
                        RaiseChanged();
                    }
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    Log.RefreshFailed(_logger, Name, ex.GetType().Name);
                }
            }
        }
        finally
        {
            Volatile.Write(ref _refreshing, 0);
        }

        // An announcement that arrived just as the loop ended.
        if (Volatile.Read(ref _listChangedPending) == 1 && IsRunning)
        {
            _ = RefreshToolsAsync();
        }
    }

    private bool UpdateToolsLocked(IReadOnlyList<Tool> tools)
    {
        var fingerprint = JsonSerializer.Serialize(new ListToolsResult { Tools = [.. tools] }, UpstreamToolCache.ListTypeInfo);
        if (string.Equals(fingerprint, _toolsFingerprint, StringComparison.Ordinal))
        {
            return false;
        }

        _tools = tools;
        _toolsFingerprint = fingerprint;
        Interlocked.Increment(ref _toolsVersion);
        return true;
    }
}
